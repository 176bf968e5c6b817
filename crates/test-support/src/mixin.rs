//! The monitoring mixin rendered by `mixin/generate.sh`, as it is or with a
//! test's own `_config`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's root directory.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Renders the mixin with mixin/generate.sh into a new directory, from
/// `mixin_file` (a jsonnet file importing mixin.libsonnet) or, with None,
/// the mixin as it is.
pub fn render_mixin(mixin_file: Option<&Path>) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new("bash");
    command
        .arg(repository_root().join("mixin/generate.sh"))
        .arg("-o")
        .arg(out.path());
    if let Some(file) = mixin_file {
        command.arg("-m").arg(file);
    }
    let output = command.output().expect("run bash mixin/generate.sh");
    assert!(
        output.status.success(),
        "mixin/generate.sh failed ({}); it needs jsonnet (Debian: `apt-get install -y jsonnet`; \
         `scripts/install-test-tools` installs it):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}
