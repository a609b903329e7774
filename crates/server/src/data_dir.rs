//! The data folder holds the SQLite database, the key store, the master key
//! and every stored file: only the service's own user may open any of it.
//! At start the folder is made private and everything in it is checked; a
//! file or folder others could read is fixed and named in the log, so an
//! installation that was once run with a loose umask (or restored by hand)
//! does not stay exposed.

use std::io;
use std::path::{Path, PathBuf};

/// What was found open to others and made private.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tightened(pub Vec<PathBuf>);

/// Creates the data folder (0700) if missing, then makes it and everything
/// below it private: folders 0700, files 0600. Links are not followed.
pub fn secure(dir: &Path) -> io::Result<Tightened> {
    ostrog_store_sql::private::create_dir(dir)?;
    let mut tightened = Tightened::default();
    tighten(dir, &mut tightened)?;
    for path in &tightened.0 {
        tracing::warn!(path = %path.display(), "was readable by other users of this machine; made private (0600/0700)");
    }
    Ok(tightened)
}

#[cfg(unix)]
fn tighten(path: &Path, tightened: &mut Tightened) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    let private = if meta.is_dir() {
        0o700
    } else if meta.is_file() {
        0o600
    } else {
        return Ok(()); // a link or a socket: not ours to change
    };
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(private))?;
        tightened.0.push(path.to_path_buf());
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            tighten(&entry?.path(), tightened)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: &mut Tightened) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn what_others_could_read_is_made_private_and_named() {
        let root = std::env::temp_dir().join(format!("ostrog-data-dir-{}", std::process::id()));
        std::fs::create_dir_all(root.join("files")).unwrap();
        std::fs::write(root.join("ostrog.db"), b"db").unwrap();
        std::fs::write(root.join("files/abc"), b"file").unwrap();
        let loose = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(root.join("files/abc"), loose.clone()).unwrap();
        std::fs::set_permissions(root.join("ostrog.db"), loose).unwrap();
        std::fs::set_permissions(root.join("files"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();

        let Tightened(mut named) = secure(&root).unwrap();
        named.sort();
        assert_eq!(named, [root.join("files"), root.join("files/abc"), root.join("ostrog.db")]);
        let mode = |p: &str| std::fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("files"), mode("files/abc"), mode("ostrog.db")), (0o700, 0o600, 0o600));
        assert_eq!(secure(&root).unwrap(), Tightened::default(), "nothing left to fix");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
