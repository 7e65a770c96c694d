//! The loaded data set: two [`Split`]s of `u8` images and labels, with float views for training.
//!
//! Images stay as bytes in memory (55 MB for all of MNIST); batches and evaluation chunks are
//! converted to floats in `[0, 1]` on demand, so only the chunk in use exists as floats.

use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, ArrayView2};
use num_traits::Float;

use crate::error::{DataError, Result};
use crate::files::MnistFile;
use crate::idx::{self, COLS, PIXELS, ROWS};
use crate::pixels;

/// Number of classes (digits).
pub const CLASSES: usize = 10;

/// MNIST: the training and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The 60,000 training examples.
    pub train: Split,
    /// The 10,000 test examples.
    pub test: Split,
}

impl Mnist {
    /// Loads the four standard files from `dir`, each as `name.gz` or as the uncompressed
    /// `name`. Each split must hold at least one example.
    pub fn load(dir: &Path) -> Result<Mnist> {
        let load = |images: MnistFile, labels: MnistFile| {
            let find = |file: MnistFile| {
                file.find_in(dir)?.ok_or_else(|| DataError::Missing {
                    path: dir.join(file.gz_name()),
                })
            };
            let images_path = find(images)?;
            let split = Split::load(&images_path, &find(labels)?)?;
            if split.is_empty() {
                return Err(DataError::Empty { path: images_path });
            }
            Ok(split)
        };
        // The training images dominate: decompress them while this thread does the rest.
        std::thread::scope(|scope| {
            let train = scope.spawn(|| load(MnistFile::TrainImages, MnistFile::TrainLabels));
            let test = load(MnistFile::TestImages, MnistFile::TestLabels)?;
            let train = train.join().expect("the loading thread does not panic")?;
            Ok(Mnist { train, test })
        })
    }
}

/// One split: `n` images of 28x28 bytes (one per row of an `n x 784` matrix) and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    images: Array2<u8>,
    labels: Vec<u8>,
}

impl Split {
    /// Makes a split from images (`n x 784`) and labels (`n` digits).
    ///
    /// # Panics
    /// If the images are not 784 wide, the counts differ, or a label is over 9.
    pub fn new(images: Array2<u8>, labels: Vec<u8>) -> Split {
        assert_eq!(images.ncols(), PIXELS, "images must be n x 784");
        assert_eq!(images.nrows(), labels.len(), "one label per image");
        assert!(labels.iter().all(|&l| l < 10), "labels must be digits");
        // Kept as it is when already row-major (as loaded), so that it is not copied and keeps its pages.
        let images = if images.is_standard_layout() {
            images
        } else {
            images.as_standard_layout().into_owned()
        };
        Split { images, labels }
    }

    /// Reads a split from its images and labels files (gzip or raw IDX).
    pub fn load(images_path: &Path, labels_path: &Path) -> Result<Split> {
        let images = idx::read_images(images_path)?;
        let labels = idx::read_labels(labels_path)?;
        if images.nrows() != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: images_path.to_owned(),
                images: images.nrows() as u64,
                labels_path: labels_path.to_owned(),
                labels: labels.len() as u64,
            });
        }
        Ok(Split::new(images, labels))
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// All images as bytes, `n x 784`.
    pub fn images_u8(&self) -> ArrayView2<'_, u8> {
        self.images.view()
    }

    /// All labels, digits 0-9.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The images at `indices`, in that order, as floats in `[0, 1]` (pixel / 255):
    /// `indices.len() x 784`.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn batch<F: Float + From<u8>>(&self, indices: &[usize]) -> Array2<F> {
        self.rows_to_float(indices.iter().copied())
    }

    /// All images as a sparse matrix (`n x 784`) of their non-zero pixels, each `p / 255` exactly (the same
    /// floats as [`batch`](Split::batch)): about a fifth of MNIST's pixels. Made once for a run, its rows
    /// are then drawn as mini-batches without converting or copying a pixel
    /// ([`SparseMatrix::select_rows`](autograd::SparseMatrix::select_rows)).
    ///
    /// ```
    /// use mnist::dataset::Split;
    /// let mut images = ndarray::Array2::<u8>::zeros((2, 784));
    /// images[[1, 5]] = 51;
    /// let sparse = Split::new(images, vec![3, 4]).sparse::<f32>();
    /// assert_eq!((sparse.shape(), sparse.nnz()), ((2, 784), 1));
    /// assert_eq!(sparse.to_dense()[[1, 5]], 51.0 / 255.0);
    /// ```
    pub fn sparse<F: autograd::Float + From<u8>>(&self) -> autograd::SparseMatrix<F> {
        let max = <F as From<u8>>::from(u8::MAX);
        let scaled: Vec<F> = (0..=u8::MAX)
            .map(|p| <F as From<u8>>::from(p) / max)
            .collect();
        let scaled = scaled.as_slice();
        let pixels = self.images.as_slice().expect("images are stored row-major");
        let entries = pixels.iter().filter(|&&p| p != 0).count();
        autograd::SparseMatrix::from_rows_with_capacity(
            PIXELS,
            entries,
            pixels.chunks_exact(PIXELS).map(|row| {
                // Eight pixels at a time: most of a digit's border is background, whole words of zeros.
                row.chunks_exact(8)
                    .enumerate()
                    .filter(|(_, word)| word.iter().any(|&p| p != 0))
                    .flat_map(|(k, word)| {
                        word.iter()
                            .enumerate()
                            .filter(|&(_, &p)| p != 0)
                            .map(move |(j, &p)| (8 * k + j, scaled[usize::from(p)]))
                    })
            }),
        )
    }

    /// The images in `range` as floats in `[0, 1]`, e.g. a chunk for evaluation:
    /// `range.len() x 784`.
    ///
    /// # Panics
    /// If the range reaches past the end.
    pub fn images_float<F: Float + From<u8>>(&self, range: Range<usize>) -> Array2<F> {
        self.rows_to_float(range)
    }

    /// The labels at `indices` as one-hot rows: `indices.len() x 10`.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn one_hot<F: Float>(&self, indices: &[usize]) -> Array2<F> {
        let mut out = Array2::zeros((indices.len(), CLASSES));
        for (row, &i) in indices.iter().enumerate() {
            out[[row, usize::from(self.labels[i])]] = F::one();
        }
        out
    }

    /// Image `i` as a 28x28 matrix of bytes.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn image_28x28(&self, i: usize) -> Array2<u8> {
        let row = self.images.row(i);
        Array2::from_shape_fn((ROWS, COLS), |(r, c)| row[r * COLS + c])
    }

    /// The rows `rows` (an exact-size index iterator) converted to floats in `[0, 1]`.
    fn rows_to_float<F: Float + From<u8>>(
        &self,
        rows: impl ExactSizeIterator<Item = usize> + Clone,
    ) -> Array2<F> {
        let n = rows.len();
        let mut data = Vec::with_capacity(n * PIXELS);
        let pixels = self.images.as_slice().expect("images are stored row-major");
        pixels::scale_rows(pixels, rows, &mut data);
        Array2::from_shape_vec((n, PIXELS), data).expect("n rows of 784 pixels")
    }
}
