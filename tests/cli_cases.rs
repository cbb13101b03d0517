//! The command line as data: every file `tests/cmd/<name>.toml` is one run of `yardstick`, with
//! the exact standard output, standard error and exit status a user sees, checked by
//! [trycmd](https://docs.rs/trycmd).
//!
//! A case is three files beside each other:
//!
//! - `tests/cmd/<name>.toml` — the arguments, the expected exit status, and the folder to run in:
//!
//!   ```toml
//!   bin.name = "yardstick"
//!   args = ["explain", "EC-RSK-04", "--lang", "en"]
//!   status = "success"        # or `status.code = 1`, `status.code = 2`
//!   fs.cwd = "../.."          # the repository root, so paths in arguments and output are relative
//!   ```
//!
//! - `tests/cmd/<name>.stdout` and `tests/cmd/<name>.stderr` — the expected output. An empty file
//!   means "nothing on this stream"; a missing file means "not checked". In them, `[..]` matches
//!   the rest of a line and a line `...` matches any number of lines (for what changes from
//!   machine to machine, or what another test already pins down).
//!
//! To add a case, write its `.toml`, create its `.stdout` and `.stderr` empty, and let trycmd fill
//! them in; then read them: they are what a user will see.
//!
//! ```sh
//! TRYCMD=overwrite cargo test --test cli_cases      # (re)write every .stdout / .stderr / status
//! cargo test --test cli_cases                       # check them
//! cargo test --test cli_cases -- cli_cases trycmd=explain   # only the cases whose name has `explain`
//! ```
//!
//! Inputs that no fixture gives (a malformed profile, a waiver without an approver) live under
//! `fixtures/cli/`. Literate cases (`tests/cmd/<name>.trycmd`, a console session in a fenced
//! block, stdout and stderr merged) are picked up as well; do not use `.md` for them, so that a
//! README in `tests/cmd/` is never run as a case.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .register_bin(
            "yardstick",
            std::path::Path::new(env!("CARGO_BIN_EXE_yardstick")),
        )
        // Plain output whatever the terminal or the environment asks for.
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.toml")
        .case("tests/cmd/*.trycmd");
}
