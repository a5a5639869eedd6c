//! The committed generated code must be what the generator produces from the pinned
//! specification. Needs the spec in the cache: run `cargo xtask spec fetch` first.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen lives in the workspace")
        .to_path_buf()
}

fn pinned() -> (String, String) {
    let text = std::fs::read_to_string(workspace().join("api-spec/spec.toml"))
        .expect("api-spec/spec.toml is readable");
    let value = |key: &str| -> String {
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("api-spec/spec.toml has no `{key}`"))
    };
    (value("package"), value("version"))
}

#[test]
fn committed_output_is_up_to_date() {
    let (package, version) = pinned();
    let dir = format!(
        "{}-{version}",
        package.trim_start_matches('@').replace('/', "-")
    );
    let schema = workspace()
        .join(".cache/spec")
        .join(dir)
        .join("schema.json");
    let json = std::fs::read(&schema).unwrap_or_else(|e| {
        panic!(
            "the specification is not in the cache ({}: {e}); run `cargo xtask spec fetch`",
            schema.display()
        )
    });
    let out = elasticsearch_codegen::generate(&json, &format!("{package}@{version}"))
        .expect("generation succeeds");
    let generated = workspace().join("client/src/generated");
    let mut stale = Vec::new();
    for (name, text) in &out.files {
        if std::fs::read_to_string(generated.join(name))
            .ok()
            .as_deref()
            != Some(text.as_str())
        {
            stale.push(name.clone());
        }
    }
    let cargo = std::fs::read_to_string(workspace().join("client/Cargo.toml"))
        .expect("client/Cargo.toml is readable");
    let spliced = elasticsearch_codegen::splice_features(&cargo, &out.features).expect("markers");
    if spliced != cargo {
        stale.push("client/Cargo.toml features".into());
    }
    assert!(
        stale.is_empty(),
        "generated code is stale, run `cargo xtask codegen`: {stale:?}"
    );
}

#[test]
fn bad_input_names_the_problem() {
    let unknown_kind =
        br#"{"types":[{"kind":"mystery","name":{"namespace":"a","name":"B"}}],"endpoints":[]}"#;
    let err = elasticsearch_codegen::generate(unknown_kind, "test").expect_err("unknown kind");
    let msg = format!("{err:#}");
    assert!(msg.contains("types[0]") && msg.contains("mystery"), "{msg}");

    let dangling = br#"{"types":[
        {"kind":"request","name":{"namespace":"x.y","name":"Request"},"path":[],"query":[],"body":{"kind":"no_body"}},
        {"kind":"response","name":{"namespace":"x.y","name":"Response"},"body":{"kind":"properties","properties":[
            {"name":"a","required":true,"type":{"kind":"instance_of","type":{"namespace":"x","name":"Missing"}}}]}}
    ],"endpoints":[{"name":"x.y","urls":[{"path":"/_y","methods":["GET"]}],
        "request":{"namespace":"x.y","name":"Request"},"response":{"namespace":"x.y","name":"Response"}}]}"#;
    let err = elasticsearch_codegen::generate(dangling, "test").expect_err("dangling");
    let msg = format!("{err:#}");
    assert!(msg.contains("dangling type reference x.Missing"), "{msg}");
    assert!(msg.contains("x.y.Response"), "{msg}");

    let collision = br#"{"types":[
        {"kind":"request","name":{"namespace":"x.y","name":"Request"},"path":[],"query":[],"body":{"kind":"no_body"}},
        {"kind":"response","name":{"namespace":"x.y","name":"Response"},"body":{"kind":"properties","properties":[
            {"name":"docs.count","required":true,"type":{"kind":"instance_of","type":{"namespace":"_builtins","name":"string"}}},
            {"name":"docs_count","required":true,"type":{"kind":"instance_of","type":{"namespace":"_builtins","name":"string"}}}]}}
    ],"endpoints":[{"name":"x.y","urls":[{"path":"/_y","methods":["GET"]}],
        "request":{"namespace":"x.y","name":"Request"},"response":{"namespace":"x.y","name":"Response"}}]}"#;
    let err = elasticsearch_codegen::generate(collision, "test").expect_err("collision");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("name collision") && msg.contains("docs_count"),
        "{msg}"
    );

    // An empty specification would replace the whole client with nothing.
    let empty = br#"{"types":[],"endpoints":[]}"#;
    let err = elasticsearch_codegen::generate(empty, "test").expect_err("empty");
    assert!(format!("{err:#}").contains("no public endpoint"), "{err:#}");
}
