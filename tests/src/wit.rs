//! What a component imports and exports, read with `wasm-tools component wit`
//! (pinned by `scripts/setup.sh`), and WIT compared by structure: comments
//! and layout do not count, names, types and their order do.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The WIT text `wasm-tools component wit <path>` prints for a component or
/// a WIT directory. `wasm-tools` is taken from `PATH`.
pub fn wasm_tools_wit(path: &Path) -> String {
    let output = Command::new("wasm-tools")
        .args(["component", "wit"])
        .arg(path)
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run wasm-tools (scripts/setup.sh installs it): {err}")
        });
    assert!(
        output.status.success(),
        "wasm-tools component wit {} failed ({}): {}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("wasm-tools prints UTF-8")
}

/// The imports and exports of the first world in `wit` (a component's own
/// world comes first in `wasm-tools component wit`), each as its normalized
/// text after the keyword: `golem:websocket/client@1.5.0`.
pub fn world(wit: &str) -> World {
    let text = normalize(wit);
    let start = text.find("world ").expect("a world in the WIT");
    let open = start + text[start..].find('{').expect("a world body");
    let body = block(&text, open);
    let mut world = World::default();
    for item in items(body) {
        if let Some(name) = item.strip_prefix("import ") {
            world.imports.push(name.trim_end_matches(';').to_string());
        } else if let Some(name) = item.strip_prefix("export ") {
            world.exports.push(name.trim_end_matches(';').to_string());
        }
    }
    world
}

/// A world's imports and exports.
#[derive(Debug, Default)]
pub struct World {
    /// `import` items, without the keyword and the `;`.
    pub imports: Vec<String>,
    /// `export` items, without the keyword and the `;`.
    pub exports: Vec<String>,
}

/// The items of `interface <name>` of package `<package>` (e.g.
/// `golem:websocket@1.5.0`, `client`), normalized and keyed by what they
/// name, so that their order does not count (a component lists its types in
/// the order it uses them): `variant error`, `record close-info`, `use
/// wasi:io/poll`, `resource websocket-connection`, and one entry per method,
/// `websocket-connection.send`. `None` when `wit` has no such interface. The
/// package may be the main one of the text (`package p;` then its items) or
/// a nested one (`package p { .. }`). WASI versions are cut to `0.2`: a
/// component takes the newest 0.2.x patch of all its parts, which a 0.2 host
/// provides.
pub fn interface(wit: &str, package: &str, name: &str) -> Option<Interface> {
    let text = normalize(wit);
    let head = format!("package {package}");
    let mut section = None;
    let mut from = 0;
    while let Some(at) = text[from..].find(&head) {
        let after = from + at + head.len();
        if text[after..].starts_with('{') {
            section = Some(block(&text, after).to_string());
            break;
        }
        if text[after..].starts_with(';') {
            // The main package: its items run up to the next nested package.
            let rest = &text[after + 1..];
            section = Some(top_level(rest).to_string());
            break;
        }
        from = after;
    }
    let section = section?;
    let head = format!("interface {name}{{");
    let at = items(&section)
        .into_iter()
        .find(|item| item.starts_with(&head))?;
    let open = at.find('{').expect("an interface body");
    let mut interface = Interface::new();
    for item in items(block(at, open)) {
        let item = wasi_0_2(item);
        if let Some(resource) = item.strip_prefix("resource ") {
            let (resource, body) = match resource.find('{') {
                Some(open) => (&resource[..open], block(resource, open)),
                None => (resource.trim_end_matches(';'), ""),
            };
            interface.insert(
                format!("resource {resource}"),
                format!("resource {resource}"),
            );
            for method in items(body) {
                interface.insert(format!("{resource}.{}", key(method)), method.to_string());
            }
        } else {
            interface.insert(key(&item), item.clone());
        }
    }
    Some(interface)
}

/// An interface's items by what they name (see [`interface`]).
pub type Interface = BTreeMap<String, String>;

/// What an item names: the function for `name:func..`, else the words before
/// its body (`variant error`, `use wasi:io/poll`).
fn key(item: &str) -> String {
    let end = item.find(['{', '=', ';', '(']).unwrap_or(item.len());
    let head = &item[..end];
    if let Some((name, _)) = head.split_once(':').filter(|(name, _)| !name.contains(' ')) {
        return name.to_string();
    }
    match head.split_once('@') {
        Some((path, _)) if head.starts_with("use ") => path.to_string(),
        _ => head.trim_end_matches('.').to_string(),
    }
}

/// `item` with every `@0.2.N` cut to `@0.2`.
fn wasi_0_2(item: &str) -> String {
    let mut out = String::new();
    let mut rest = item;
    while let Some(at) = rest.find("@0.2.") {
        out.push_str(&rest[..at + 4]);
        rest = rest[at + 5..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// `wit` without comments, with one space between words and none around
/// punctuation, so that only the structure is left.
pub fn normalize(wit: &str) -> String {
    let mut words = String::new();
    for line in wit.lines() {
        let line = line.split("//").next().unwrap_or_default();
        for word in line.split_whitespace() {
            words.push_str(word);
            words.push(' ');
        }
    }
    let mut out = String::new();
    let chars: Vec<char> = words.trim().chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            if before.is_some_and(is_punct) || after.is_some_and(is_punct) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn is_punct(c: char) -> bool {
    "{}()<>,;:=".contains(c)
}

/// The text between the brace at `open` and its match.
fn block(text: &str, open: usize) -> &str {
    assert_eq!(text.as_bytes()[open], b'{');
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("an unmatched brace in the WIT")
}

/// The part of `text` before the next item that starts a nested package.
fn top_level(text: &str) -> &str {
    let mut end = 0;
    for item in items(text) {
        if item.starts_with("package ") {
            break;
        }
        end = item.as_ptr() as usize - text.as_ptr() as usize + item.len();
    }
    &text[..end]
}

/// The items of a body at depth 0: each ends with `;` or with a brace block.
fn items(body: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                // `use p.{a, b};` ends at its `;`.
                if depth == 0 && !body[i + 1..].trim_start().starts_with(';') {
                    items.push(body[start..=i].trim());
                    start = i + 1;
                }
            }
            ';' if depth == 0 => {
                items.push(body[start..=i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.retain(|item| !item.is_empty());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = "package root:component;

world root {
  import wasi:io/poll@0.2.3;
  import golem:websocket/client@1.5.0;

  export golem:agent/guest@1.5.0;
}
package golem:websocket@1.5.0 {
  interface client {
    use wasi:io/poll@0.2.3.{pollable};

    /// A message
    variant message {
      text(string),
      binary(list<u8>),
    }
    resource websocket-connection {
      send: func(message: message) -> result<_, error>;
    }
  }
}
";

    const MAIN: &str = "// the reference
package golem:websocket@1.5.0;

interface client {
  use wasi:io/poll@0.2.3.{pollable};
  resource websocket-connection {
    send: func(message: message) -> result<_, error>; // one call
  }
  variant message { text(string), binary(list<u8>), }
}
package wasi:io@0.2.3 {
  interface client {
    other: func();
  }
}
";

    #[test]
    fn world_lists_imports_and_exports() {
        let world = world(NESTED);
        assert_eq!(
            world.imports,
            ["wasi:io/poll@0.2.3", "golem:websocket/client@1.5.0"]
        );
        assert_eq!(world.exports, ["golem:agent/guest@1.5.0"]);
    }

    #[test]
    fn interfaces_compare_by_structure_in_both_package_forms() {
        let nested = interface(NESTED, "golem:websocket@1.5.0", "client").unwrap();
        let main = interface(MAIN, "golem:websocket@1.5.0", "client").unwrap();
        assert_eq!(nested, main);
        let keys: Vec<_> = nested.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "resource websocket-connection",
                "use wasi:io/poll",
                "variant message",
                "websocket-connection.send",
            ]
        );
        assert_eq!(
            nested["use wasi:io/poll"],
            "use wasi:io/poll@0.2.{pollable};"
        );
        assert_eq!(
            nested["websocket-connection.send"],
            "send:func(message:message)->result<_,error>;"
        );
        let other = interface(MAIN, "wasi:io@0.2.3", "client").unwrap();
        assert_eq!(other["other"], "other:func();");
        assert!(interface(NESTED, "golem:websocket@1.4.0", "client").is_none());
    }

    #[test]
    fn wasi_patch_versions_do_not_count_but_other_changes_do() {
        let newer = NESTED.replace("poll@0.2.3", "poll@0.2.12");
        let reference = interface(MAIN, "golem:websocket@1.5.0", "client");
        assert_eq!(
            interface(&newer, "golem:websocket@1.5.0", "client"),
            reference
        );
        let changed = NESTED.replace("binary(list<u8>)", "binary(list<u16>)");
        assert_ne!(
            interface(&changed, "golem:websocket@1.5.0", "client"),
            reference
        );
    }
}
