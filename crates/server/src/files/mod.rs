//! Files: streamed uploads scanned while they arrive (clamd, ICAP
//! services), encrypted at rest, served only to who may see their
//! conversation.

pub mod cipher;
pub mod clamd;
pub mod icap;
pub mod scanner;
pub mod self_test;
pub use ostrog_domain::thumbnail;

/// Where a stored file's part is kept under the data folder:
/// `files/<id>` (the original) and `files/<id>.thumb`.
pub fn stored_path(
    data_dir: &std::path::Path,
    id: ostrog_domain::ids::FileId,
    part: cipher::Part,
) -> std::path::PathBuf {
    let name = match part {
        cipher::Part::Original => id.to_string(),
        cipher::Part::Thumbnail => format!("{id}.thumb"),
    };
    data_dir.join("files").join(name)
}
