//! Downloads from a tiny HTTP server on 127.0.0.1 that serves the real files from `MNIST_DIR`
//! (see `mnist::mnist_dir_for_tests` for the skip policy). The server answers a bounded number of
//! requests and stops by itself; the mirrors are passed explicitly, not through the environment.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use mnist::download::{download, verify_file, Verified};
use mnist::{mnist_dir_for_tests, DataError, Locator, MnistFile, Origin};

/// A loopback HTTP server: `GET path` answers with `files[path]` or 404.
struct Server {
    base: String,
    handle: JoinHandle<usize>,
}

impl Server {
    /// Serves at most `max_requests` requests, for at most 60 s.
    fn start(files: HashMap<String, Vec<u8>>, max_requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut served = 0;
            while served < max_requests && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        answer(stream, &files);
                        served += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            served
        });
        Server { base, handle }
    }

    /// Waits for the server to stop and returns the number of requests it answered.
    fn requests(self) -> usize {
        self.handle.join().unwrap()
    }
}

fn answer(stream: TcpStream, files: &HashMap<String, Vec<u8>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match files.get(path) {
        Some(body) => ("200 OK", body.as_slice()),
        None => ("404 Not Found", &b"not found"[..]),
    };
    let mut stream = &stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

/// The real `.gz` bytes of each file, keyed by file.
fn real_files(dir: &Path) -> HashMap<MnistFile, Vec<u8>> {
    MnistFile::ALL
        .into_iter()
        .map(|file| (file, std::fs::read(dir.join(file.gz_name())).unwrap()))
        .collect()
}

/// Entries of `dir`, temporary files included.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
}

#[test]
fn downloads_all_files_verified_and_loadable() {
    let Some(dir) = mnist_dir_for_tests() else {
        return;
    };
    let served = real_files(&dir)
        .into_iter()
        .map(|(file, bytes)| (format!("/mnist/{}", file.gz_name()), bytes))
        .collect();
    let server = Server::start(served, 4);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("backprop-rs").join("mnist");
    let locator = Locator {
        data_dir: None,
        env_dir: None,
        cache_dir: Some(cache_dir.clone()),
        mirrors: vec![format!("{}/mnist/", server.base)],
    };
    let (data, located) = locator.load().unwrap();
    assert_eq!(located.origin, Origin::Downloaded);
    assert_eq!(located.dir, cache_dir);
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!(data.train.labels()[..5], [5, 0, 4, 1, 9]);
    assert_eq!(data.test.labels()[..5], [7, 2, 1, 0, 4]);
    let expected: Vec<PathBuf> = {
        let mut names: Vec<_> = MnistFile::ALL
            .iter()
            .map(|f| cache_dir.join(f.gz_name()))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        entries(&cache_dir),
        expected,
        "only the four files, no temporary ones"
    );
    for file in MnistFile::ALL {
        assert_eq!(
            verify_file(file, &cache_dir.join(file.gz_name())).unwrap(),
            Verified::GzSha256
        );
    }
    assert_eq!(server.requests(), 4);

    // Now the cache holds them: no download.
    let located = locator.locate().unwrap();
    assert_eq!(located.origin, Origin::Cache);
    assert_eq!(
        located.to_string(),
        format!("{} (cache)", cache_dir.display())
    );
}

#[test]
fn corrupted_download_is_rejected_and_removed() {
    let Some(dir) = mnist_dir_for_tests() else {
        return;
    };
    let file = MnistFile::TrainLabels;
    let mut bytes = real_files(&dir).remove(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes[middle + 1] ^= 0x0f;
    let server = Server::start(
        HashMap::from([(format!("/m/{}", file.gz_name()), bytes)]),
        1,
    );
    let cache = tempfile::tempdir().unwrap();
    let mirror = format!("{}/m", server.base);

    let err = download(file, cache.path(), &[&mirror]).unwrap_err();
    let DataError::AllMirrorsFailed { path, failures } = &err else {
        panic!("expected AllMirrorsFailed, got {err:?}");
    };
    assert_eq!(*path, cache.path().join(file.gz_name()));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, format!("{mirror}/{}", file.gz_name()));
    assert!(
        matches!(failures[0].1, DataError::Checksum { .. }),
        "{:?}",
        failures[0].1
    );
    let message = err.to_string();
    assert!(message.contains(&failures[0].0), "{message}");
    assert!(message.contains("checksum mismatch"), "{message}");
    assert!(message.contains(file.gz_sha256()), "{message}");
    assert!(
        entries(cache.path()).is_empty(),
        "left behind: {:?}",
        entries(cache.path())
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn first_mirror_404s_second_works() {
    let Some(dir) = mnist_dir_for_tests() else {
        return;
    };
    let file = MnistFile::TestLabels;
    let bytes = real_files(&dir).remove(&file).unwrap();
    let server = Server::start(
        HashMap::from([(format!("/good/{}", file.gz_name()), bytes)]),
        2,
    );
    let cache = tempfile::tempdir().unwrap();
    let mirrors = [
        format!("{}/gone/", server.base),
        format!("{}/good/", server.base),
    ];

    let path = download(file, cache.path(), &mirrors).unwrap();
    assert_eq!(path, cache.path().join(file.gz_name()));
    assert_eq!(verify_file(file, &path).unwrap(), Verified::GzSha256);
    assert_eq!(entries(cache.path()), [path]);
    assert_eq!(server.requests(), 2);
}

#[test]
fn every_mirror_failing_lists_each_failure() {
    // Needs no real data: nothing is ever served.
    let server = Server::start(HashMap::new(), 2);
    let cache = tempfile::tempdir().unwrap();
    let mirrors = [format!("{}/a", server.base), format!("{}/b/", server.base)];
    let file = MnistFile::TestImages;

    let err = download(file, cache.path(), &mirrors).unwrap_err();
    let DataError::AllMirrorsFailed { failures, .. } = &err else {
        panic!("expected AllMirrorsFailed, got {err:?}");
    };
    assert_eq!(failures.len(), 2);
    for ((url, failure), mirror) in failures.iter().zip(&mirrors) {
        assert_eq!(
            *url,
            format!("{}/{}", mirror.trim_end_matches('/'), file.gz_name())
        );
        assert!(
            matches!(failure, DataError::Download { reason, .. } if reason.contains("404")),
            "{failure:?}"
        );
    }
    let message = err.to_string();
    assert!(
        message.contains(&cache.path().join(file.gz_name()).display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&failures[0].0) && message.contains(&failures[1].0),
        "{message}"
    );
    assert!(entries(cache.path()).is_empty());
    assert_eq!(server.requests(), 2);
}

/// A mirror that accepts the connection and then never answers is given up after the answer timeout (it
/// used to be 60 s per mirror, two minutes of silence for two), and the error is one line that says how to
/// use local files.
#[test]
fn a_silent_mirror_is_given_up_after_the_answer_timeout() {
    use mnist::download::ANSWER_TIMEOUT;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mirror = format!("http://{}/", listener.local_addr().unwrap());
    // Accepts one connection and holds it, silent, until the client gives up or 60 s pass.
    let silent = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut sink = [0u8; 1024];
        while std::io::Read::read(&mut stream, &mut sink).is_ok_and(|n| n > 0) {}
    });
    let cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = download(MnistFile::TestLabels, cache.path(), &[mirror]).unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= ANSWER_TIMEOUT - Duration::from_secs(1)
            && waited < ANSWER_TIMEOUT + Duration::from_secs(10),
        "gave up after {waited:?}"
    );
    let message = err.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("--data-dir") && message.contains("MNIST_DIR"),
        "{message}"
    );
    assert!(entries(cache.path()).is_empty());
    silent.join().unwrap();
}

/// A mirror that re-compressed the data is accepted on the content's MD5.
#[test]
fn recompressed_mirror_copy_is_accepted() {
    let Some(dir) = mnist_dir_for_tests() else {
        return;
    };
    let file = MnistFile::TrainLabels;
    let original = real_files(&dir).remove(&file).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut GzDecoder::new(&original[..]), &mut raw).unwrap();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&raw).unwrap();
    let recompressed = encoder.finish().unwrap();
    assert_ne!(recompressed, original);
    let server = Server::start(
        HashMap::from([(format!("/{}", file.gz_name()), recompressed)]),
        1,
    );
    let cache = tempfile::tempdir().unwrap();

    let path = download(file, cache.path(), &[&server.base]).unwrap();
    assert_eq!(verify_file(file, &path).unwrap(), Verified::ContentMd5);
    assert_eq!(
        mnist::idx::read_labels(&path).unwrap()[..5],
        [5, 0, 4, 1, 9]
    );
    assert_eq!(server.requests(), 1);
}
