//! Encryption at rest, by envelope: personal data is sealed by its data
//! subject's own data key; data keys live wrapped by a master key in a key
//! store apart from the main database; the master key lives outside every
//! database. Destroying a subject's data key erases their data everywhere
//! it was copied, and rotating the master key re-wraps keys, not data.

pub mod data_key;
pub mod ledger;
pub mod master;
pub mod purpose;
pub mod rotate;
pub mod vault;

pub use data_key::DataKey;
pub use ledger::Ledger;
pub use purpose::Purpose;
pub use vault::Vault;

/// Where the key store is: `keys_database_url`, or beside the main
/// database (`keys.db` in the data folder, or the PostgreSQL database
/// `<name>_keys` on the same server).
pub fn store_url(config: &crate::config::Config) -> Result<String, ostrog_store::StoreError> {
    let main = config.database_url();
    if !config.keys_database_url.is_empty() {
        Ok(config.keys_database_url.clone())
    } else if main.starts_with("sqlite:") {
        Ok(format!("sqlite://{}", config.data_dir.join("keys.db").display()))
    } else {
        ostrog_store_sql::keys_url_beside(&main)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("master key: {0}")]
    Key(String),
    #[error("data was wrapped by master key {0}, which this installation does not hold")]
    UnknownMasterKey(u32),
    #[error("a sealed value could not be decrypted")]
    Decrypt,
    #[error("key store: {0}")]
    Store(#[from] ostrog_store::StoreError),
}
