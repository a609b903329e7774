//! Files at rest: AES-256-GCM over 64 KiB chunks, each with its own nonce
//! (the part, the chunk's number, and a flag on the last one), so that files are
//! encrypted and decrypted as streams and a truncated, reordered or spliced
//! file fails to decrypt. Every file has its own random key, which the
//! server's key seals. AES-GCM rather than ChaCha20-Poly1305 here because
//! servers have AES-NI and CLMUL: it costs a fraction of the CPU time, which
//! an upload otherwise takes away from clamd scanning it at the same time.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use axum::body::Bytes;
use std::io::{self, Write};
use std::path::Path;
use tokio::io::AsyncReadExt;

pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const AAD: &[u8] = b"ostrog-file-v2";

/// What of a file a stream holds. Both are sealed under the file's key, so
/// each has a nonce space of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Original = 0,
    Thumbnail = 1,
}

fn nonce(part: Part, counter: u64, last: bool) -> Nonce<aes_gcm::aes::cipher::consts::U12> {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n[10] = part as u8;
    n[11] = u8::from(last);
    Nonce::from(n)
}

fn broken(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Encrypts what is pushed into it into `file`, chunk by chunk. It blocks:
/// an upload runs it on a thread of its own.
pub struct Sealer {
    cipher: Aes256Gcm,
    part: Part,
    counter: u64,
    pending: Vec<u8>,
    file: io::BufWriter<std::fs::File>,
}

impl Sealer {
    pub fn new(key: &[u8; 32], part: Part, file: std::fs::File) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            part,
            counter: 0,
            pending: Vec::with_capacity(CHUNK),
            file: io::BufWriter::with_capacity(4 * (CHUNK + TAG), file),
        }
    }

    pub fn push(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == CHUNK && !data.is_empty() {
                self.write_chunk(false)?;
            }
        }
        Ok(())
    }

    /// Writes the last chunk (possibly empty) and syncs the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_chunk(true)?;
        let file = self.file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()
    }

    fn write_chunk(&mut self, last: bool) -> io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(&nonce(self.part, self.counter, last), Payload { msg: &self.pending, aad: AAD })
            .map_err(|_| broken("encryption failed"))?;
        self.file.write_all(&sealed)?;
        self.pending.clear();
        self.counter += 1;
        Ok(())
    }
}

/// Decrypts `path` chunk by chunk, as a stream for a response body.
pub async fn open(
    key: &[u8; 32],
    part: Part,
    path: &Path,
) -> io::Result<impl futures_util::Stream<Item = io::Result<Bytes>> + Send + use<>> {
    let file = tokio::fs::File::open(path).await?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let state = (file, cipher, 0u64, None::<Vec<u8>>, false);
    Ok(futures_util::stream::try_unfold(state, move |(mut file, cipher, counter, ahead, done)| async move {
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
            .decrypt(&nonce(part, counter, last), Payload { msg: &current, aad: AAD })
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
        let mut sealer = Sealer::new(&key, Part::Original, std::fs::File::create(&path).unwrap());
        for part in data.chunks(10_000) {
            sealer.push(part).unwrap();
        }
        sealer.finish().unwrap();
        let stored = std::fs::read(&path).unwrap();
        assert!(len < 64 || !stored.windows(64).any(|w| data.windows(64).next() == Some(w)), "not plaintext");
        let back: Vec<Bytes> = open(&key, Part::Original, &path).await.unwrap().try_collect().await.unwrap();
        let other_part: Result<Vec<Bytes>, _> = open(&key, Part::Thumbnail, &path).await.unwrap().try_collect().await;
        assert!(other_part.is_err(), "a part does not open as another");
        // A cut at a chunk boundary must not pass as a shorter file.
        if stored.len() > CHUNK + TAG {
            std::fs::write(&path, &stored[..CHUNK + TAG]).unwrap();
            let cut: Result<Vec<Bytes>, _> = open(&key, Part::Original, &path).await.unwrap().try_collect().await;
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
