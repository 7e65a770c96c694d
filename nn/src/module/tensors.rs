//! `tensors!`: a layer's [`Module::visit`](super::Module::visit) and `visit_mut`, written once from its list of
//! array fields.

use std::sync::{Mutex, PoisonError};

use ndarray::ArrayD;

/// A field that holds zero or one array: an array, an optional array (a bias), or an array behind a
/// `Mutex` (a buffer the forward pass updates).
pub(super) trait Slot<T> {
    /// Calls `f` with the array, if there is one.
    fn each(&self, f: impl FnOnce(&ArrayD<T>));
    /// Calls `f` with the array mutably, if there is one.
    fn each_mut(&mut self, f: impl FnOnce(&mut ArrayD<T>));
}

impl<T> Slot<T> for ArrayD<T> {
    fn each(&self, f: impl FnOnce(&ArrayD<T>)) {
        f(self)
    }
    fn each_mut(&mut self, f: impl FnOnce(&mut ArrayD<T>)) {
        f(self)
    }
}

impl<T> Slot<T> for Option<ArrayD<T>> {
    fn each(&self, f: impl FnOnce(&ArrayD<T>)) {
        if let Some(a) = self {
            f(a)
        }
    }
    fn each_mut(&mut self, f: impl FnOnce(&mut ArrayD<T>)) {
        if let Some(a) = self {
            f(a)
        }
    }
}

impl<T> Slot<T> for Mutex<ArrayD<T>> {
    fn each(&self, f: impl FnOnce(&ArrayD<T>)) {
        f(&self.lock().unwrap_or_else(PoisonError::into_inner))
    }
    fn each_mut(&mut self, f: impl FnOnce(&mut ArrayD<T>)) {
        f(self.get_mut().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Implements `visit` and `visit_mut` from `Kind field` pairs; the field's name is the array's name.
macro_rules! tensors {
    ($($kind:ident $field:ident),* $(,)?) => {
        fn visit(&self, f: &mut dyn FnMut(&str, $crate::module::Kind, &ndarray::ArrayD<T>)) {
            $($crate::module::tensors::Slot::each(&self.$field, |a| {
                f(stringify!($field), $crate::module::Kind::$kind, a)
            });)*
        }

        fn visit_mut(&mut self, f: &mut dyn FnMut(&str, $crate::module::Kind, &mut ndarray::ArrayD<T>)) {
            $($crate::module::tensors::Slot::each_mut(&mut self.$field, |a| {
                f(stringify!($field), $crate::module::Kind::$kind, a)
            });)*
        }
    };
}
pub(super) use tensors;
