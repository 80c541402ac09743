//! The action tables of every product: what routing (`http`) and `keywarden kms --help` read.
//! Adding an action is one file in `ops/` (or `ram/`) and one line in its product's `ACTIONS`.

use crate::action::{Action, Product};

/// The action table of `product`.
pub fn actions(product: Product) -> &'static [Action] {
    match product {
        Product::Kms => crate::ops::ACTIONS,
        Product::Ram => crate::ram::ACTIONS,
    }
}

/// The descriptor of action `name` of `product`.
pub fn find(product: Product, name: &str) -> Option<&'static Action> {
    actions(product).iter().find(|a| a.name == name)
}
