//! The Golem agent example (`examples/golem-agent`), one source built with
//! each golem-rust generation, is an app Golem runs:
//! - with golem-rust 2.x (`p2/`, Golem 1.5, WASI 0.2) it exports
//!   `golem:agent/guest@1.5.0`;
//! - with golem-rust 3.x and the crate's `p3` feature (`p3/`, WASI 0.3) it
//!   exports `golem:agent/guest@2.0.0`;
//!
//! and either imports `golem:websocket/client@1.5.0` once, in the shape of its
//! generation, with Golem's types: every type of the interface exactly as the
//! reference declares it, and each function the code calls with the
//! reference's signature (the linker drops functions nobody calls, such as the
//! blocking `receive` of the WASI 0.2 shape, from the import).
//!
//! The references are the crate's own `wit/` and `wit/p3/` (vendored
//! unchanged from Golem and golem-rust 3.0.2), which, where the project's
//! `shared/` folder lies beside the repository, are also compared with
//! `shared/wit-reference/golem-websocket.wit` and `golem-websocket-p3.wit`.
//! Both sides are read with `wasm-tools component wit` (found on `PATH`;
//! pinned by `scripts/setup.sh`) and compared by structure. Each agent is
//! built once per run by `scripts/build-agents.sh` (`just build-agents`);
//! the golem-rust 3.x one takes most of `just test`'s time (release profile:
//! examples/golem-agent/p3/Cargo.toml says why).

#![cfg(not(target_family = "wasm"))]

use wasm_websocket_tests::{agents, repo_path, wit};

const PACKAGE: &str = "golem:websocket@1.5.0";
const IMPORT: &str = "golem:websocket/client@1.5.0";

/// One golem-rust generation: where its reference lies and what its agent
/// must import and export.
struct Generation {
    /// `p2` or `p3`: the agent is `target/agents/golem-agent-<name>.wasm`.
    name: &'static str,
    /// The crate's WIT directory that declares the interface.
    wit: &'static str,
    /// The reference file in `shared/wit-reference/`, and the directory of
    /// `wit/` it needs beside it to resolve (`deps/io` for `wasi:io`).
    shared: (&'static str, Option<&'static str>),
    /// The guest interface Golem calls the agent through.
    agent_export: &'static str,
    /// The host calls wasm-websocket makes, so in the import.
    calls: &'static [&'static str],
}

/// golem-rust 2.x, Golem 1.5: the WASI 0.2 shape (a pollable, no async).
const P2: Generation = Generation {
    name: "p2",
    wit: "wit",
    shared: ("golem-websocket.wit", Some("deps/io")),
    agent_export: "golem:agent/guest@1.5.0",
    calls: &[
        "connect",
        "send",
        "receive-with-timeout",
        "close",
        "subscribe",
    ],
};

/// golem-rust 3.x: the WASI 0.3 shape (async `receive`, no `subscribe`).
const P3: Generation = Generation {
    name: "p3",
    wit: "wit/p3",
    shared: ("golem-websocket-p3.wit", None),
    agent_export: "golem:agent/guest@2.0.0",
    calls: &["connect", "send", "receive", "close"],
};

impl Generation {
    /// The interface as the crate's WIT declares it.
    fn reference(&self) -> wit::Interface {
        let text = wit::wasm_tools_wit(&repo_path(self.wit));
        wit::interface(&text, PACKAGE, "client")
            .unwrap_or_else(|| panic!("{} declares golem:websocket/client", self.wit))
    }

    /// The WIT of this generation's agent component.
    fn agent(&self) -> String {
        wit::wasm_tools_wit(&agents::agent(self.name))
    }

    /// Checks that a component's WIT (`wasm-tools component wit`) is an agent
    /// that imports the reference interface once; returns what is wrong.
    fn check(&self, text: &str) -> Result<(), String> {
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
        if !world
            .exports
            .iter()
            .any(|export| export == self.agent_export)
        {
            return Err(format!(
                "expected the export {}; the exports are {:?}",
                self.agent_export, world.exports
            ));
        }
        let imported = wit::interface(text, PACKAGE, "client")
            .ok_or_else(|| format!("the component's WIT has no interface client in {PACKAGE}"))?;
        let reference = self.reference();
        let wit = self.wit;
        for (name, item) in &imported {
            match reference.get(name) {
                Some(expected) if expected == item => {}
                Some(expected) => {
                    return Err(format!(
                        "{name} differs from {wit}/:\n  imported:  {item}\n  reference: {expected}"
                    ));
                }
                None => return Err(format!("{name} is not in {wit}/: {item}")),
            }
        }
        // Every type is there; of the functions, those the code calls (the
        // linker drops the others, and a host provides more than a component
        // imports).
        let missing: Vec<_> = reference
            .keys()
            .filter(|name| !name.contains('.') && !imported.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(format!("the import lacks {missing:?}"));
        }
        Ok(())
    }

    /// The check, then the calls wasm-websocket makes are in the import.
    fn check_agent(&self) {
        let text = self.agent();
        if let Err(problem) = self.check(&text) {
            panic!("target/agents/golem-agent-{}.wasm: {problem}", self.name);
        }
        let imported = wit::interface(&text, PACKAGE, "client").expect("checked above");
        for method in self.calls {
            let name = format!("websocket-connection.{method}");
            assert!(
                imported.contains_key(&name),
                "golem-agent-{}: {name} is not imported",
                self.name
            );
        }
    }

    /// The crate's WIT and the reference in `shared/` declare the same
    /// interface, where `shared/` is beside the repository.
    fn compare_with_shared(&self) {
        let (file, deps) = self.shared;
        let shared = repo_path(&format!("../shared/wit-reference/{file}"));
        if !shared.exists() {
            eprintln!(
                "{} is not there (a clone outside the project's folder): nothing to compare",
                shared.display()
            );
            return;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::copy(&shared, dir.path().join("websocket.wit")).expect("copy the reference");
        if let Some(deps) = deps {
            // The reference file alone does not resolve: give it wit/'s deps.
            let to = dir.path().join(deps);
            std::fs::create_dir_all(&to).expect("a deps directory");
            let from = repo_path(&format!("{}/{deps}", self.wit));
            for entry in std::fs::read_dir(&from).expect("the deps directory of wit/") {
                let entry = entry.expect("an entry of the deps directory");
                std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a dep");
            }
        }
        let text = wit::wasm_tools_wit(dir.path());
        let shared_interface = wit::interface(&text, PACKAGE, "client").expect("the reference");
        assert_eq!(
            self.reference(),
            shared_interface,
            "{}/ differs from {}",
            self.wit,
            shared.display()
        );
    }

    /// The check itself fails where it should, on the agent's WIT changed in
    /// one place each.
    fn check_fails_where_it_should(&self) {
        let text = self.agent();
        let changed = text.replacen("binary(list<u8>)", "binary(list<u16>)", 1);
        assert_ne!(changed, text);
        let problem = self.check(&changed).expect_err("a changed type");
        assert!(
            problem.contains(&format!("variant message differs from {}/", self.wit)),
            "{problem}"
        );

        let twice = text.replacen(
            &format!("import {IMPORT};"),
            &format!("import {IMPORT};\n  import golem:websocket/client@1.4.0;"),
            1,
        );
        assert_ne!(twice, text);
        let problem = self.check(&twice).expect_err("two imports");
        assert!(problem.contains("expected one import"), "{problem}");

        let no_agent = text.replacen(&format!("export {};", self.agent_export), "", 1);
        assert_ne!(no_agent, text);
        let problem = self.check(&no_agent).expect_err("no agent export");
        assert!(problem.contains("expected the export"), "{problem}");
    }
}

#[test]
fn golem_rust_2_agent_imports_the_reference_interface_once_and_exports_an_agent() {
    P2.check_agent();
}

#[test]
fn golem_rust_3_agent_imports_the_p3_reference_interface_once_and_exports_an_agent() {
    P3.check_agent();
}

#[test]
fn wit_matches_the_golem_reference_where_shared_is_beside_the_repository() {
    P2.compare_with_shared();
}

#[test]
fn wit_p3_matches_the_golem_rust_3_reference_where_shared_is_beside_the_repository() {
    P3.compare_with_shared();
}

#[test]
fn the_check_fails_on_a_changed_type_a_second_import_or_no_agent_export() {
    P2.check_fails_where_it_should();
}

#[test]
fn the_p3_check_fails_on_a_changed_type_a_second_import_or_no_agent_export() {
    P3.check_fails_where_it_should();
}

/// The P3 check fails on the P2 agent, a real component of the other shape,
/// also when it exports what a P3 agent exports: the check tells the two
/// shapes apart.
#[test]
fn the_p3_check_fails_on_the_p2_agent() {
    let text = P2.agent();
    let problem = P3.check(&text).expect_err("the P2 agent is no P3 agent");
    assert!(problem.contains("expected the export"), "{problem}");
    let exporting_p3 = text.replacen(
        &format!("export {};", P2.agent_export),
        &format!("export {};", P3.agent_export),
        1,
    );
    assert_ne!(exporting_p3, text);
    let problem = P3
        .check(&exporting_p3)
        .expect_err("the P2 shape is not the P3 one");
    assert!(problem.contains("is not in wit/p3/"), "{problem}");
}

/// And the P2 check fails on the P3 agent.
#[test]
fn the_p2_check_fails_on_the_p3_agent() {
    let problem = P2
        .check(&P3.agent())
        .expect_err("the P3 agent is no P2 agent");
    assert!(problem.contains("expected the export"), "{problem}");
}
