//! The MNIST data layer: reading, finding and downloading the MNIST handwritten digits.
//!
//! ```no_run
//! use mnist::{Locator, Result};
//!
//! fn main() -> Result<()> {
//!     // A `--data-dir` flag would go here; `None` tries MNIST_DIR, the cache, then a download.
//!     let (data, located) = Locator::from_env(None).load()?;
//!     eprintln!("MNIST from {located}");
//!     let x = data.train.batch::<f32>(&[0, 1, 2]); // 3 x 784, pixels in [0, 1]
//!     let y = data.train.one_hot::<f32>(&[0, 1, 2]); // 3 x 10
//!     assert_eq!((x.dim(), y.dim()), ((3, 784), (3, 10)));
//!     Ok(())
//! }
//! ```
//!
//! # API
//!
//! - [`Mnist::load`]`(dir) -> Result<Mnist>`: the four standard files from `dir`, each as
//!   `name.gz` or uncompressed `name`. [`Mnist`] has `train` and `test` [`Split`]s.
//! - [`Split`]: `len`, `is_empty`, `images_u8` (`n x 784` bytes), `labels` (digits),
//!   `batch::<F>(indices)` and `images_float::<F>(range)` (floats in `[0, 1]`),
//!   `one_hot::<F>(indices)` (`n x 10`), `image_28x28(i)`; `Split::new` and `Split::load` build
//!   one.
//! - [`Locator`]: where the data comes from, in order a given directory, `MNIST_DIR`, the cache
//!   (`$XDG_CACHE_HOME/backprop-rs/mnist` or `$HOME/.cache/backprop-rs/mnist`), a download into
//!   the cache; `locate` and `load` return a [`Located`] that displays as `/path (MNIST_DIR)`.
//! - [`download::download`]`(file, dir, mirrors)`: one verified file from the first mirror that
//!   works; [`download::verify_file`] checks a file against the known checksums. The mirrors
//!   default to [`download::DEFAULT_MIRRORS`] and are overridden by `MNIST_MIRROR`.
//! - [`idx`]: the IDX reader, from files or bytes; [`MnistFile`]: the four files' names and
//!   checksums.
//! - [`DataError`]: every failure, naming the file or URL; [`Result`].
//! - The trainer's parts: [`config`] (a run's settings and their ranges), [`train`] (the loop),
//!   [`model`] (the net and its optimizer, saved and loaded in either precision), [`history`]
//!   and [`plot`] (the metric files and plots), [`checkpoint`] (the validated, checksummed
//!   checkpoint format), [`run_dir`] (the locked output directory) and [`json_float`] (losses
//!   that are not finite, in JSON).
//! - [`mnist_dir_for_tests`]: the shared policy of real-data tests (`MNIST_DIR`, and no skipping
//!   when `CI` is set).

pub mod allocator;
pub mod checkpoint;
pub mod config;
pub mod dataset;
mod digest;
pub mod download;
pub mod error;
pub mod files;
pub mod history;
pub mod idx;
pub mod image;
pub mod json_float;
pub mod locate;
pub mod model;
mod pixels;
pub mod plot;
pub mod run_dir;
pub mod train;

pub use dataset::{Mnist, Split, CLASSES};
pub use error::{DataError, Result};
pub use files::MnistFile;
pub use locate::{mnist_dir_for_tests, Located, Locator, Origin};
