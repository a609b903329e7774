//! Files at rest: ChaCha20-Poly1305 over 64 KiB chunks, each with its own
//! nonce (the chunk's number, and a flag on the last one), so that files are
//! encrypted and decrypted as streams and a truncated, reordered or spliced
//! file fails to decrypt. Every file has its own random key, which the
//! server's key seals.

use axum::body::Bytes;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::io;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

fn broken(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Encrypts what is pushed into it into `file`, chunk by chunk.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    counter: u64,
    pending: Vec<u8>,
    file: tokio::fs::File,
}

impl Sealer {
    pub fn new(key: &[u8; 32], file: tokio::fs::File) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            counter: 0,
            pending: Vec::with_capacity(CHUNK),
            file,
        }
    }

    pub async fn push(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == CHUNK && !data.is_empty() {
                self.write_chunk(false).await?;
            }
        }
        Ok(())
    }

    /// Writes the last chunk (possibly empty) and syncs the file.
    pub async fn finish(mut self) -> io::Result<()> {
        self.write_chunk(true).await?;
        self.file.flush().await?;
        self.file.sync_all().await
    }

    async fn write_chunk(&mut self, last: bool) -> io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(&nonce(self.counter, last), Payload { msg: &self.pending, aad: b"ostrog-file" })
            .map_err(|_| broken("encryption failed"))?;
        self.file.write_all(&sealed).await?;
        self.pending.clear();
        self.counter += 1;
        Ok(())
    }
}

/// Decrypts `path` chunk by chunk, as a stream for a response body.
pub async fn open(
    key: &[u8; 32],
    path: &Path,
) -> io::Result<impl futures_util::Stream<Item = io::Result<Bytes>> + Send + use<>> {
    let file = tokio::fs::File::open(path).await?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let state = (file, cipher, 0u64, None::<Vec<u8>>, false);
    Ok(futures_util::stream::try_unfold(state, |(mut file, cipher, counter, ahead, done)| async move {
        if done {
            return Ok(None);
        }
        let current = match ahead {
            Some(chunk) => chunk,
            None => read_chunk(&mut file).await?,
        };
        let next = read_chunk(&mut file).await?;
        let last = next.is_empty();
        let plain = cipher
            .decrypt(&nonce(counter, last), Payload { msg: &current, aad: b"ostrog-file" })
            .map_err(|_| broken("the stored file is damaged"))?;
        Ok(Some((Bytes::from(plain), (file, cipher, counter + 1, Some(next), last))))
    }))
}

/// Up to one sealed chunk; empty at the end of the file.
async fn read_chunk(file: &mut tokio::fs::File) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; CHUNK + TAG];
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    async fn round_trip(len: usize) -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!("ostrog-cipher-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let key = [7u8; 32];
        let mut sealer = Sealer::new(&key, tokio::fs::File::create(&path).await.unwrap());
        for part in data.chunks(10_000) {
            sealer.push(part).await.unwrap();
        }
        sealer.finish().await.unwrap();
        let stored = std::fs::read(&path).unwrap();
        assert!(len < 64 || !stored.windows(64).any(|w| data.windows(64).next() == Some(w)), "not plaintext");
        let back: Vec<Bytes> = open(&key, &path).await.unwrap().try_collect().await.unwrap();
        // A cut at a chunk boundary must not pass as a shorter file.
        if stored.len() > CHUNK + TAG {
            std::fs::write(&path, &stored[..CHUNK + TAG]).unwrap();
            let cut: Result<Vec<Bytes>, _> = open(&key, &path).await.unwrap().try_collect().await;
            assert!(cut.is_err(), "truncation detected");
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(back.concat(), data);
        back.concat()
    }

    #[tokio::test]
    async fn files_round_trip_and_truncation_is_detected() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            assert_eq!(round_trip(len).await.len(), len);
        }
    }
}
