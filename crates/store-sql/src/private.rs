//! Folders and files only their owner can open (0700 and 0600), whatever
//! the process's umask: a database file readable by every local user is a
//! copy of every conversation. SQLite creates its `-wal` and `-shm` files
//! with the mode of the database file, so creating that file first, private,
//! makes all three private.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents, each new one 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens `path` for writing, creating it 0600 if it does not exist
/// (nothing is truncated).
pub fn create_file(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes sure the SQLite database at `path` exists as a private file in a
/// private folder before SQLite opens it.
pub(crate) fn prepare_sqlite_file(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    create_file(path).map(drop)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or_default()
    }

    #[test]
    fn new_folders_and_files_are_private() {
        let root = std::env::temp_dir().join(format!("ostrog-private-{}", std::process::id()));
        let db = root.join("a/b/ostrog.db");
        prepare_sqlite_file(&db).unwrap();
        assert_eq!((mode(&root.join("a")), mode(&root.join("a/b")), mode(&db)), (0o700, 0o700, 0o600));
        std::fs::write(&db, b"kept").unwrap();
        prepare_sqlite_file(&db).unwrap();
        assert_eq!(std::fs::read(&db).unwrap(), b"kept", "an existing database is never truncated");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
