//! A throwaway CA and node certificate for `--secure`, made with the `openssl` tool.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Files written by [`generate`].
#[derive(Debug)]
pub(crate) struct Certs {
    pub(crate) dir: PathBuf,
    pub(crate) ca_cert: PathBuf,
    pub(crate) fingerprint: String,
}

fn openssl(args: &[&str], dir: &Path) -> Result<String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running `openssl` (Debian: apt-get install openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates `ca.key`/`ca.crt` and `node.key`/`node.crt` (for `localhost`, `127.0.0.1`
/// and `::1`) in `dir`, replacing earlier ones.
pub(crate) fn generate(dir: &Path) -> Result<Certs> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    fs::write(
        dir.join("ca.cnf"),
        "[req]\n\
         distinguished_name = dn\n\
         x509_extensions = v3_ca\n\
         prompt = no\n\
         [dn]\n\
         CN = Local Elasticsearch test CA\n\
         [v3_ca]\n\
         basicConstraints = critical,CA:TRUE\n\
         keyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )?;
    fs::write(
        dir.join("node.ext"),
        "basicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth,clientAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n\
         authorityKeyIdentifier=keyid\n\
         subjectKeyIdentifier=hash\n",
    )?;
    openssl(
        &[
            "req", "-x509", "-config", "ca.cnf", "-newkey", "rsa:2048", "-nodes", "-sha256",
            "-days", "30", "-keyout", "ca.key", "-out", "ca.crt",
        ],
        dir,
    )?;
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "node.key",
            "-out",
            "node.csr",
        ],
        dir,
    )?;
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "node.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            "node.ext",
            "-out",
            "node.crt",
        ],
        dir,
    )?;
    // Serve the chain (node certificate, then the CA), as Elasticsearch's own security
    // auto-configuration does, so clients can pin the CA's fingerprint.
    let mut chain = std::fs::read(dir.join("node.crt"))?;
    chain.extend(std::fs::read(dir.join("ca.crt"))?);
    std::fs::write(dir.join("node.crt"), chain)?;
    let fingerprint = fingerprint(&dir.join("ca.crt"))?;
    Ok(Certs {
        dir: dir.to_path_buf(),
        ca_cert: dir.join("ca.crt"),
        fingerprint,
    })
}

/// Hex SHA-256 of the certificate's DER encoding, lower case without colons, as
/// Elasticsearch prints it.
pub(crate) fn fingerprint(cert: &Path) -> Result<String> {
    let cert = cert.to_string_lossy();
    let text = openssl(
        &["x509", "-in", &cert, "-noout", "-fingerprint", "-sha256"],
        Path::new("."),
    )?;
    let hex = text
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "")
        .to_ascii_lowercase();
    if hex.len() != 64 {
        bail!("unexpected openssl fingerprint output: {text}");
    }
    Ok(hex)
}
