//! Unit tests of `guard.rs`.

use super::*;

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop panicked");
    }
}

#[test]
fn k1_call_user_returns_the_value_or_the_panic_message() {
    assert_eq!(call_user(|| 7), Ok(7));
    assert_eq!(
        call_user(|| -> u8 { panic!("boom {}", 1) }),
        Err("boom 1".to_string())
    );
    assert_eq!(
        call_user(|| std::panic::panic_any(5u8)),
        Err("a panic with a non-string payload".to_string())
    );
}

#[test]
fn k1_drop_user_catches_a_panicking_destructor() {
    assert_eq!(drop_user(PanicOnDrop), Err("drop panicked".to_string()));
    assert_eq!(drop_user(String::from("fine")), Ok(()));
}

#[test]
fn k1_a_payload_whose_drop_panics_is_not_let_through() {
    let caught = call_user(|| std::panic::panic_any(PanicOnDrop));
    assert_eq!(caught, Err("a panic with a non-string payload".to_string()));
}
