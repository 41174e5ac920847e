//! The Golem agent example (`examples/golem-agent`), built with golem-rust
//! 2.x, is an app Golem 1.5 runs: it exports `golem:agent/guest@1.5.0` and
//! imports `golem:websocket/client@1.5.0` once, with Golem's types: every type
//! of the interface exactly as the reference declares it, and each function
//! the code calls with the reference's signature (the linker drops functions
//! nobody calls, such as the blocking `receive`, from the import).
//!
//! The reference is the crate's own `wit/` (vendored unchanged from Golem),
//! which, where the project's `shared/` folder lies beside the repository, is
//! also compared with `shared/wit-reference/golem-websocket.wit`. Both sides
//! are read with `wasm-tools component wit` (found on `PATH`; pinned by
//! `scripts/setup.sh`) and compared by structure. The agent is built once per
//! run by `scripts/build-agents.sh` (`just build-agents`).

#![cfg(not(target_family = "wasm"))]

use wasm_websocket_tests::{agents, repo_path, wit};

const PACKAGE: &str = "golem:websocket@1.5.0";
const IMPORT: &str = "golem:websocket/client@1.5.0";
const AGENT_EXPORT: &str = "golem:agent/guest@1.5.0";

/// The interface as the crate's `wit/` declares it.
fn reference() -> wit::Interface {
    let text = wit::wasm_tools_wit(&repo_path("wit"));
    wit::interface(&text, PACKAGE, "client").expect("wit/ declares golem:websocket/client")
}

/// Checks that a component's WIT (`wasm-tools component wit`) is an agent
/// that imports the reference interface once; returns what is wrong.
fn check_agent(text: &str) -> Result<(), String> {
    let world = wit::world(text);
    let websocket: Vec<_> = world
        .imports
        .iter()
        .filter(|import| import.starts_with("golem:websocket/"))
        .collect();
    if websocket != [IMPORT] {
        return Err(format!(
            "expected one import of golem:websocket, {IMPORT}; the imports are {:?}",
            world.imports
        ));
    }
    if !world.exports.iter().any(|export| export == AGENT_EXPORT) {
        return Err(format!(
            "expected the export {AGENT_EXPORT}; the exports are {:?}",
            world.exports
        ));
    }
    let imported = wit::interface(text, PACKAGE, "client")
        .ok_or_else(|| format!("the component's WIT has no interface client in {PACKAGE}"))?;
    let reference = reference();
    for (name, item) in &imported {
        match reference.get(name) {
            Some(expected) if expected == item => {}
            Some(expected) => {
                return Err(format!(
                    "{name} differs from wit/:\n  imported:  {item}\n  reference: {expected}"
                ));
            }
            None => return Err(format!("{name} is not in wit/: {item}")),
        }
    }
    // Every type is there; of the functions, those the code calls (the linker
    // drops the others, and a host provides more than a component imports).
    let missing: Vec<_> = reference
        .keys()
        .filter(|name| !name.contains('.') && !imported.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Err(format!("the import lacks {missing:?}"));
    }
    Ok(())
}

/// The WIT of the golem-rust 2.x agent.
fn agent_p2() -> String {
    wit::wasm_tools_wit(&agents::agent("golem-agent-p2"))
}

#[test]
fn golem_rust_2_agent_imports_the_reference_interface_once_and_exports_an_agent() {
    let text = agent_p2();
    if let Err(problem) = check_agent(&text) {
        panic!("target/agents/golem-agent-p2.wasm: {problem}");
    }
    // The calls wasm-websocket makes are in the import.
    let imported = wit::interface(&text, PACKAGE, "client").expect("checked above");
    for method in [
        "connect",
        "send",
        "receive-with-timeout",
        "close",
        "subscribe",
    ] {
        let name = format!("websocket-connection.{method}");
        assert!(imported.contains_key(&name), "{name} is not imported");
    }
}

#[test]
fn wit_matches_the_golem_reference_where_shared_is_beside_the_repository() {
    let shared = repo_path("../shared/wit-reference/golem-websocket.wit");
    if !shared.exists() {
        eprintln!(
            "{} is not there (a clone outside the project's folder): nothing to compare",
            shared.display()
        );
        return;
    }
    // The reference file alone does not resolve: give it wit/'s wasi:io.
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(&shared, dir.path().join("websocket.wit")).expect("copy the reference");
    let deps = dir.path().join("deps/io");
    std::fs::create_dir_all(&deps).expect("a deps directory");
    for entry in std::fs::read_dir(repo_path("wit/deps/io")).expect("wit/deps/io") {
        let entry = entry.expect("an entry of wit/deps/io");
        std::fs::copy(entry.path(), deps.join(entry.file_name())).expect("copy wasi:io");
    }
    let text = wit::wasm_tools_wit(dir.path());
    let shared_interface = wit::interface(&text, PACKAGE, "client").expect("the reference");
    assert_eq!(
        reference(),
        shared_interface,
        "wit/ differs from {}",
        shared.display()
    );
}

/// The check itself fails where it should, on the agent's WIT changed in one
/// place each.
#[test]
fn the_check_fails_on_a_changed_type_a_second_import_or_no_agent_export() {
    let text = agent_p2();
    let changed = text.replacen("binary(list<u8>)", "binary(list<u16>)", 1);
    assert_ne!(changed, text);
    let problem = check_agent(&changed).expect_err("a changed type");
    assert!(
        problem.contains("variant message differs from wit/"),
        "{problem}"
    );

    let twice = text.replacen(
        &format!("import {IMPORT};"),
        &format!("import {IMPORT};\n  import golem:websocket/client@1.4.0;"),
        1,
    );
    assert_ne!(twice, text);
    let problem = check_agent(&twice).expect_err("two imports");
    assert!(problem.contains("expected one import"), "{problem}");

    let no_agent = text.replacen(&format!("export {AGENT_EXPORT};"), "", 1);
    assert_ne!(no_agent, text);
    let problem = check_agent(&no_agent).expect_err("no agent export");
    assert!(problem.contains("expected the export"), "{problem}");
}
