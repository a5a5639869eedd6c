//! Loading YAML test files: several documents per file, each a single-key map
//! (`requires`, `setup`, `teardown` or a test name) whose value lists steps.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Number, Value};

/// One step of a section: its kind (`do`, `match`, `set`, …) and argument.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's single key.
    pub kind: String,
    /// The step's value.
    pub arg: Value,
}

/// One test: its name and steps.
#[derive(Debug, Clone)]
pub struct Test {
    /// The test's name (its document key).
    pub name: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Where the file is.
    pub path: PathBuf,
    /// The path relative to the suite directory, `/`-separated.
    pub rel: String,
    /// The clients-tests `requires` document (`stack`, `serverless`, `feature_flag`).
    pub requires: Option<Value>,
    /// Steps run before every test.
    pub setup: Vec<Step>,
    /// Steps run after every test.
    pub teardown: Vec<Step>,
    /// The tests, in file order.
    pub tests: Vec<Test>,
}

/// All `.yml`/`.yaml` files under `dir`, sorted by relative path.
pub fn find_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk(dir, &mut out).with_context(|| format!("reading {}", dir.display()))?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one test file.
pub fn load(path: &Path, root: &Path) -> Result<TestFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let mut file = TestFile {
        path: path.to_path_buf(),
        rel,
        requires: None,
        setup: Vec::new(),
        teardown: Vec::new(),
        tests: Vec::new(),
    };
    for document in serde_yaml::Deserializer::from_str(&text) {
        let yaml = <serde_yaml::Value as serde::Deserialize>::deserialize(document)
            .with_context(|| format!("parsing {}", path.display()))?;
        let value = yaml_to_json(yaml);
        let map = match value {
            Value::Null => continue,
            Value::Object(map) => map,
            other => bail!("{}: a document is not a map: {other}", path.display()),
        };
        for (key, body) in map {
            match key.as_str() {
                "requires" if body.is_object() => file.requires = Some(body),
                "setup" => file.setup = steps(&body).with_context(|| key.to_string())?,
                "teardown" => file.teardown = steps(&body).with_context(|| key.to_string())?,
                _ => {
                    let steps = steps(&body).with_context(|| format!("test {key:?}"))?;
                    file.tests.push(Test { name: key, steps });
                }
            }
        }
    }
    Ok(file)
}

fn steps(value: &Value) -> Result<Vec<Step>> {
    let Value::Array(items) = value else {
        if value.is_null() {
            return Ok(Vec::new());
        }
        bail!("a section is not a list of steps");
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(map) if map.len() == 1 => {
                let (kind, arg) = map.iter().next().ok_or_else(|| anyhow!("empty step"))?;
                Ok(Step {
                    kind: kind.clone(),
                    arg: arg.clone(),
                })
            }
            other => Err(anyhow!("a step is not a single-key map: {other}")),
        })
        .collect()
}

/// Converts YAML to JSON: keys become strings, tags are dropped.
pub fn yaml_to_json(value: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_multi_document_files() {
        let dir = std::env::temp_dir().join(format!("yaml-runner-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.yml");
        std::fs::write(
            &path,
            "---\nrequires:\n  stack: true\n---\nsetup:\n  - do: {indices.create: {index: x}}\n---\n\"t one\":\n  - match: {0.alias: 1}\n---\nt2:\n  - is_true: ''\n",
        )
        .unwrap();
        let file = load(&path, &dir).unwrap();
        assert_eq!(file.rel, "a.yml");
        assert_eq!(file.requires.unwrap()["stack"], Value::Bool(true));
        assert_eq!(file.setup.len(), 1);
        assert_eq!(file.tests.len(), 2);
        assert_eq!(file.tests[0].name, "t one");
        assert_eq!(file.tests[0].steps[0].kind, "match");
        assert_eq!(file.tests[1].steps[0].arg, Value::String(String::new()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
