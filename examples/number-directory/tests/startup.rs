//! The binary refuses to start without its table, in one line that says
//! what is missing. (Its behaviour with a table is tested end to end in the
//! relay's suite, tests/it/subscriber.rs, which runs this binary: having an
//! integration test here is also what makes `cargo test --workspace` build it.)

use std::process::Command;

#[test]
fn without_directory_table_it_exits_saying_what_is_missing() {
    let output = Command::new(env!("CARGO_BIN_EXE_cc-number-directory"))
        .env_clear()
        .output()
        .expect("run cc-number-directory");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "Error: \"DIRECTORY_TABLE is not set: the directory table's name\""
    );
}
