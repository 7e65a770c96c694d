//! [`Params`]: named arrays in a fixed order — a network's parameters, and their gradients.

use std::ops::{Index, IndexMut};

use autograd::{Float, Gradients, Tape, Var};
use ndarray::ArrayD;

/// Named arrays in insertion order, like the lecture's `params` dictionary (`W1`, `b1`, `W2`, `b2`).
///
/// Gradients use the same type with the same names in the same order, so an optimizer walks both side by
/// side. Index by name; iterate in order.
///
/// ```
/// use ndarray::{arr1, arr2};
/// use nn::Params;
///
/// let mut params: Params<f64> = [("W", arr2(&[[1.0, 2.0]]).into_dyn()), ("b", arr1(&[0.5]).into_dyn())]
///     .into_iter()
///     .collect();
/// params["b"][[0]] = 1.5;
/// assert_eq!(params.names().collect::<Vec<_>>(), ["W", "b"]);
/// assert_eq!(params["b"], arr1(&[1.5]).into_dyn());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params<T> {
    entries: Vec<(String, ArrayD<T>)>,
}

impl<T> Params<T> {
    /// No arrays.
    pub fn new() -> Self {
        Params {
            entries: Vec::new(),
        }
    }

    /// Adds `array` under `name` at the end, or replaces the array of that name in place (keeping its
    /// position) and returns the old one.
    pub fn insert(&mut self, name: impl Into<String>, array: ArrayD<T>) -> Option<ArrayD<T>> {
        let name = name.into();
        match self.get_mut(&name) {
            Some(slot) => Some(std::mem::replace(slot, array)),
            None => {
                self.entries.push((name, array));
                None
            }
        }
    }

    /// Takes the array named `name` out (the others keep their order).
    pub fn remove(&mut self, name: &str) -> Option<ArrayD<T>> {
        self.position(name).map(|k| self.entries.remove(k).1)
    }

    /// The array named `name`.
    pub fn get(&self, name: &str) -> Option<&ArrayD<T>> {
        self.position(name).map(|k| &self.entries[k].1)
    }

    /// The array named `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut ArrayD<T>> {
        self.position(name).map(|k| &mut self.entries[k].1)
    }

    /// The position of `name` in the order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }

    /// The number of arrays.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no arrays.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// `(name, array)` pairs, in order.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self.entries.iter())
    }

    /// `(name, array)` pairs with mutable arrays, in order.
    pub fn iter_mut(&mut self) -> IterMut<'_, T> {
        IterMut(self.entries.iter_mut())
    }

    /// True when `other` has the same names in the same order with arrays of the same shapes.
    pub fn same_layout<U>(&self, other: &Params<U>) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((n, a), (m, b))| n == m && a.shape() == b.shape())
    }

    /// Panics unless `other` has the same layout (see [`same_layout`](Params::same_layout)); the message
    /// starts with `what` (e.g. `Sgd: gradients`) and shows both layouts.
    #[track_caller]
    pub(crate) fn assert_same_layout<U>(&self, other: &Params<U>, what: &str) {
        assert!(
            self.same_layout(other),
            "{what} [{}] do not match the parameters [{}]",
            other.layout(),
            self.layout()
        );
    }

    /// `name [shape], …` for messages (empty when there are no arrays).
    pub fn layout(&self) -> String {
        let parts: Vec<String> = self
            .iter()
            .map(|(n, a)| format!("{n} {:?}", a.shape()))
            .collect();
        parts.join(", ")
    }
}

impl<T: Float> Params<T> {
    /// Zeros with the same names and shapes (for gradients and optimizer state).
    pub fn zeros_like(&self) -> Self {
        self.iter()
            .map(|(n, a)| (n, ArrayD::zeros(a.raw_dim())))
            .collect()
    }

    /// Every array as a named variable on `tape`, in order: the start of a training step. With
    /// [`take_gradients`](Params::take_gradients) at its end, an optimizer step is three lines.
    ///
    /// ```
    /// use autograd::Tape;
    /// use nn::{optim::{Optimizer, Sgd}, Params};
    ///
    /// let mut params: Params<f64> = [("w", ndarray::arr1(&[3.0]).into_dyn())].into_iter().collect();
    /// let tape = Tape::new();
    /// let vars = params.on_tape(&tape);
    /// let loss = (vars[0] * vars[0]).sum();          // w²
    /// let grads = params.take_gradients(&vars, &mut loss.backward());
    /// Sgd::new(0.25).update(&mut params, &grads);    // w − 0.25 · 2w
    /// assert_eq!(params["w"][[0]], 1.5);
    /// ```
    pub fn on_tape<'t>(&self, tape: &'t Tape<T>) -> Vec<Var<'t, T>> {
        self.iter()
            .map(|(name, a)| tape.var_named(name, a.view()))
            .collect()
    }

    /// The gradients of the variables `vars` (from [`on_tape`](Params::on_tape)), moved out of `grads`, with
    /// these parameters' names and order, as the optimizers take them; zeros for a parameter the loss does not
    /// depend on.
    ///
    /// # Panics
    /// When `vars` does not have one variable per parameter.
    #[track_caller]
    pub fn take_gradients(&self, vars: &[Var<'_, T>], grads: &mut Gradients<T>) -> Params<T> {
        assert_eq!(
            vars.len(),
            self.len(),
            "take_gradients: {} variables for {} parameters",
            vars.len(),
            self.len()
        );
        self.iter()
            .zip(vars)
            .map(|((name, p), &var)| {
                let g = grads
                    .take(var)
                    .unwrap_or_else(|| ArrayD::zeros(p.raw_dim()));
                (name, g)
            })
            .collect()
    }
}

impl<T> Index<&str> for Params<T> {
    type Output = ArrayD<T>;

    /// # Panics
    /// When there is no array named `name`.
    #[track_caller]
    fn index(&self, name: &str) -> &ArrayD<T> {
        self.get(name).unwrap_or_else(|| missing(self, name))
    }
}

impl<T> IndexMut<&str> for Params<T> {
    /// # Panics
    /// When there is no array named `name`.
    #[track_caller]
    fn index_mut(&mut self, name: &str) -> &mut ArrayD<T> {
        let k = self.position(name).unwrap_or_else(|| missing(self, name));
        &mut self.entries[k].1
    }
}

#[track_caller]
fn missing<T>(params: &Params<T>, name: &str) -> ! {
    panic!(
        "no parameter named '{name}' (there are [{}])",
        params.layout()
    )
}

impl<S: Into<String>, T> FromIterator<(S, ArrayD<T>)> for Params<T> {
    /// Collects `(name, array)` pairs in order; a repeated name replaces the earlier array in place.
    fn from_iter<I: IntoIterator<Item = (S, ArrayD<T>)>>(iter: I) -> Self {
        let mut params = Params::new();
        for (name, array) in iter {
            params.insert(name, array);
        }
        params
    }
}

impl<T> IntoIterator for Params<T> {
    type Item = (String, ArrayD<T>);
    type IntoIter = std::vec::IntoIter<(String, ArrayD<T>)>;

    /// The `(name, array)` pairs, in order.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Params<T> {
    type Item = (&'a str, &'a ArrayD<T>);
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Params<T> {
    type Item = (&'a str, &'a mut ArrayD<T>);
    type IntoIter = IterMut<'a, T>;

    fn into_iter(self) -> IterMut<'a, T> {
        self.iter_mut()
    }
}

/// The iterator of [`Params::iter`]: `(name, array)` in order.
#[derive(Clone, Debug)]
pub struct Iter<'a, T>(std::slice::Iter<'a, (String, ArrayD<T>)>);

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (&'a str, &'a ArrayD<T>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(n, a)| (n.as_str(), a))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

/// The iterator of [`Params::iter_mut`]: `(name, mutable array)` in order.
#[derive(Debug)]
pub struct IterMut<'a, T>(std::slice::IterMut<'a, (String, ArrayD<T>)>);

impl<'a, T> Iterator for IterMut<'a, T> {
    type Item = (&'a str, &'a mut ArrayD<T>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(n, a)| (n.as_str(), a))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> ExactSizeIterator for IterMut<'_, T> {}
