//! The Elasticsearch distribution: the JDK that runs it, the integ-test zip from
//! Maven Central, and our small `GET /` plugin built with Maven.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{es_dir, workspace_root, ES_VERSION};

/// The JDK tried when `ES_JAVA_HOME` is not set (the project's machines carry it).
const PREFERRED_JDK: &str = "/usr/lib/jvm/temurin-25-jdk-amd64";
/// Elasticsearch 9 needs Java 21 or newer.
const MIN_JAVA: u32 = 21;
/// Pinned so the download does not depend on whatever plugin version Maven resolves.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";
/// Name of our plugin inside the distribution's `plugins/` directory.
const PLUGIN_NAME: &str = "local-node-plugin";

/// The JDK used for Elasticsearch and for building the plugin.
///
/// `ES_JAVA_HOME` wins when set (and must be suitable); otherwise the Temurin 25 JDK
/// the machines carry, otherwise the newest suitable JDK under `/usr/lib/jvm`.
pub(crate) fn java_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("ES_JAVA_HOME").filter(|v| !v.is_empty()) {
        let home = PathBuf::from(home);
        return match java_major(&home) {
            Some(v) if v >= MIN_JAVA => Ok(home),
            Some(v) => bail!(
                "ES_JAVA_HOME={} is Java {v}; Elasticsearch {ES_VERSION} needs Java {MIN_JAVA} or newer",
                home.display()
            ),
            None => bail!(
                "ES_JAVA_HOME={} is not a JDK (no bin/java or release file)",
                home.display()
            ),
        };
    }
    let preferred = PathBuf::from(PREFERRED_JDK);
    if java_major(&preferred).is_some_and(|v| v >= MIN_JAVA) {
        return Ok(preferred);
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir("/usr/lib/jvm") {
        for entry in entries.flatten() {
            let path = entry.path();
            if let Some(v) = java_major(&path) {
                if v >= MIN_JAVA && best.as_ref().is_none_or(|(b, _)| v > *b) {
                    best = Some((v, path));
                }
            }
        }
    }
    match best {
        Some((_, path)) => Ok(path),
        None => bail!(
            "no JDK {MIN_JAVA}+ found for Elasticsearch {ES_VERSION}: set ES_JAVA_HOME to a JDK \
             {MIN_JAVA} or newer (e.g. ES_JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64)"
        ),
    }
}

/// The major version of the JDK at `home`, from its `release` file.
fn java_major(home: &Path) -> Option<u32> {
    if !home.join("bin/java").is_file() {
        return None;
    }
    let release = fs::read_to_string(home.join("release")).ok()?;
    let line = release
        .lines()
        .find_map(|l| l.strip_prefix("JAVA_VERSION="))?;
    let version = line.trim().trim_matches('"');
    let first = version.split(['.', '-', '+']).next()?;
    let major: u32 = first.parse().ok()?;
    // Java 8 and older report "1.8.0".
    if major == 1 {
        version.split('.').nth(1)?.parse().ok()
    } else {
        Some(major)
    }
}

/// The unpacked distribution with our plugin installed, ready to launch.
pub(crate) fn prepare(java_home: &Path) -> Result<PathBuf> {
    let home = es_dir().join(format!("elasticsearch-{ES_VERSION}"));
    if !home.join(".unpacked").is_file() {
        unpack(java_home, &home)?;
    }
    install_plugin(java_home, &home)?;
    Ok(home)
}

fn mvn(java_home: &Path) -> Result<Command> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("mvn").is_file()))
        .unwrap_or(false);
    if !found {
        bail!("`mvn` not found on PATH: install Maven (Debian: apt-get install maven)");
    }
    let mut cmd = Command::new("mvn");
    cmd.env("JAVA_HOME", java_home).args(["-q", "-B"]);
    Ok(cmd)
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("WARNING:"))
            .collect();
        let start = tail.len().saturating_sub(40);
        bail!(
            "{what} failed ({}):\n{}",
            out.status,
            tail[start..].join("\n")
        );
    }
    Ok(())
}

/// Downloads the integ-test zip through Maven (cached in `~/.m2`) and unpacks it.
fn unpack(java_home: &Path, home: &Path) -> Result<()> {
    let download = es_dir().join("download");
    fs::create_dir_all(&download)?;
    let zip = download.join(format!("elasticsearch-{ES_VERSION}.zip"));
    if !zip.is_file() {
        eprintln!("fetching Elasticsearch {ES_VERSION} (integ-test zip) from Maven Central");
        let artifact = format!(
            "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
        );
        run(
            mvn(java_home)?
                .arg(format!("{DEPENDENCY_PLUGIN}:copy"))
                .arg(artifact)
                .arg(format!("-DoutputDirectory={}", download.display()))
                .current_dir(&download),
            "mvn dependency:copy",
        )?;
    }
    eprintln!("unpacking {}", zip.display());
    if home.exists() {
        fs::remove_dir_all(home)?;
    }
    let staging = es_dir().join("unpack");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    // `jar` ships with every JDK, unlike `unzip`; it does not keep file modes.
    run(
        Command::new(java_home.join("bin/jar"))
            .arg("xf")
            .arg(&zip)
            .current_dir(&staging),
        "unpacking the distribution",
    )?;
    fs::rename(staging.join(format!("elasticsearch-{ES_VERSION}")), home)
        .context("the zip did not contain the expected top-level directory")?;
    fs::remove_dir_all(&staging)?;
    run(
        Command::new("chmod").arg("-R").arg("a+rX,u+w").arg(home),
        "chmod",
    )?;
    for entry in fs::read_dir(home.join("bin"))? {
        let path = entry?.path();
        run(Command::new("chmod").arg("a+x").arg(&path), "chmod")?;
    }
    fs::write(home.join(".unpacked"), ES_VERSION)?;
    Ok(())
}

/// Hash of the plugin's sources, so the jar is rebuilt only when they change.
fn sources_stamp(project: &Path) -> Result<String> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = vec![project.join("pom.xml")];
    walk(&project.join("src"), &mut files)?;
    files.sort();
    let mut hasher = DefaultHasher::new();
    ES_VERSION.hash(&mut hasher);
    for f in files {
        f.strip_prefix(project).unwrap_or(&f).hash(&mut hasher);
        fs::read(&f)?.hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// Builds `tests/local-node/java` and installs the jar as a classic plugin.
fn install_plugin(java_home: &Path, home: &Path) -> Result<()> {
    let project = workspace_root().join("tests/local-node/java");
    let build_dir = es_dir().join("java");
    let stamp = sources_stamp(&project)?;
    let installed = home.join("plugins").join(PLUGIN_NAME);
    let stamp_file = installed.join(".stamp");
    if fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(());
    }
    eprintln!("building the {PLUGIN_NAME} plugin with Maven");
    run(
        mvn(java_home)?
            .arg(format!("-Des.version={ES_VERSION}"))
            .arg(format!("-Dbuild.dir={}", build_dir.display()))
            .arg("package")
            .current_dir(&project),
        "mvn package (tests/local-node/java)",
    )?;
    // The distribution ships no plugins: whatever is there is an older build of ours.
    for entry in fs::read_dir(home.join("plugins"))? {
        let path = entry?.path();
        if path.is_dir() {
            fs::remove_dir_all(&path)?;
        }
    }
    fs::create_dir_all(&installed)?;
    let jar = format!("{PLUGIN_NAME}.jar");
    fs::copy(build_dir.join(&jar), installed.join(&jar))
        .with_context(|| format!("copying {jar}"))?;
    fs::write(
        installed.join("plugin-descriptor.properties"),
        format!(
            "description=GET / and the analysis components of the security index for the local test node\n\
             version=1.0.0\n\
             name={PLUGIN_NAME}\n\
             classname=org.elasticsearch.localnode.LocalNodePlugin\n\
             java.version={MIN_JAVA}\n\
             elasticsearch.version={ES_VERSION}\n"
        ),
    )?;
    run(
        Command::new("chmod").arg("-R").arg("a+rX").arg(&installed),
        "chmod",
    )?;
    fs::write(&stamp_file, stamp)?;
    Ok(())
}
