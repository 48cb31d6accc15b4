//! Inert stand-ins for the WASI functions Rust's standard library links into every plugin, for plugins that
//! opt in with [`inert_wasi!`](crate::inert_wasi).
//!
//! std on `wasm32-wasip2` brings wasi-libc, whose start-up and standard streams import thirteen WASI
//! interfaces (environment, exit, stdin, stdout, stderr, five terminal interfaces, streams, poll, error) that a
//! mapping never uses: the host grants none of them anything. Every import costs each fresh instance its
//! binding work, about a quarter of an instantiation. wasi-libc calls them through functions it leaves for the
//! linker to import; defining those functions here resolves them inside the plugin, so the component imports
//! nothing but the contract.
//!
//! They behave like the host's deny-by-default WASI: an empty environment, no terminal, standard input empty.
//! What the plugin writes to standard output or standard error (a panic message) goes to the host's log, at
//! info and error level, instead of the trap report. `exit` traps, as a panic does.

/// Resolves the WASI functions that Rust's std links into a plugin (environment, exit, standard streams,
/// terminals) inside the plugin, with inert stand-ins, so the component imports nothing but the contract and
/// each fresh instance binds about half as many imports.
///
/// The stand-ins behave like the host's deny-by-default WASI: an empty environment, no terminals, an empty
/// standard input. What the plugin writes to standard output or standard error, a panic message included,
/// goes to the host's log (info and error level) instead of a trap report; `exit` traps. A plugin that needs
/// real WASI (files, clocks) does not invoke it.
///
/// Invoke it once, at the top level of the plugin's `lib.rs`. It expands to nothing on native targets.
///
/// ```
/// millwright_sdk::inert_wasi!();
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! inert_wasi {
    () => {
        #[cfg(target_family = "wasm")]
        #[allow(unsafe_code, clippy::missing_safety_doc)]
        const _: () = {
            /// Stream handles: what `get-stdin`, `get-stdout` and `get-stderr` return.
            const STDOUT: i32 = 1;
            const STDERR: i32 = 2;

            // Every function below is called by wasi-libc only, with the canonical ABI's lowered signature of
            // the WASI function it stands for; a `ret` argument points at a return area for its result.

            /// Writes the case of a `result` or `option` (0: ok, none) at the start of a return area.
            ///
            /// # Safety
            ///
            /// `ret` points at a return area.
            pub unsafe fn store_case(ret: *mut u8, case: u8) {
                // SAFETY: the caller's contract.
                unsafe { ret.write(case) }
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_io_error_error_drop(_: i32) {}
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_poll_pollable_drop(_: i32) {}
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_streams_input_stream_drop(_: i32) {}
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_streams_output_stream_drop(_: i32) {}
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_terminal_input_terminal_input_drop(_: i32) {}
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_terminal_output_terminal_output_drop(_: i32) {}
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_poll_method_pollable_block(_: i32) {}

            /// `wasi:cli/environment.get-environment`: an empty list.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_environment_get_environment(ret: *mut u8) {
                // SAFETY: the return area of a `list` holds a pointer and a length.
                unsafe { ret.cast::<[u32; 2]>().write([0, 0]) }
            }

            /// `wasi:cli/exit.exit`: a trap.
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_exit_exit(_: i32) {
                core::arch::wasm32::unreachable()
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_stdin_get_stdin() -> i32 {
                0
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_stdout_get_stdout() -> i32 {
                STDOUT
            }
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_stderr_get_stderr() -> i32 {
                STDERR
            }

            /// `get-terminal-stdin`, `-stdout`, `-stderr`: none, the streams are not terminals.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_terminal_stdin_get_terminal_stdin(ret: *mut u8) {
                unsafe { store_case(ret, 0) }
            }
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_terminal_stdout_get_terminal_stdout(
                ret: *mut u8,
            ) {
                unsafe { store_case(ret, 0) }
            }
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_terminal_stderr_get_terminal_stderr(
                ret: *mut u8,
            ) {
                unsafe { store_case(ret, 0) }
            }

            /// `output-stream.check-write`: ok, room for 64 KiB.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_streams_method_output_stream_check_write(
                _: i32,
                ret: *mut u8,
            ) {
                // SAFETY: `result<u64, stream-error>`: the case at 0, the u64 at 8.
                unsafe {
                    store_case(ret, 0);
                    ret.add(8).cast::<u64>().write(64 << 10);
                }
            }

            /// `output-stream.write`: ok; the bytes go to the host's log.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_streams_method_output_stream_write(
                stream: i32,
                bytes: *const u8,
                len: usize,
                ret: *mut u8,
            ) {
                // SAFETY: `bytes` and `len` are the lowered `list<u8>` argument.
                let text = unsafe { core::slice::from_raw_parts(bytes, len) };
                let text = String::from_utf8_lossy(text);
                let text = text.trim_end();
                if !text.is_empty() {
                    let level = if stream == STDERR {
                        $crate::host::LogLevel::Error
                    } else {
                        $crate::host::LogLevel::Info
                    };
                    $crate::host::log(level, text);
                }
                unsafe { store_case(ret, 0) }
            }

            /// `output-stream.blocking-flush`: ok.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn __wasm_import_streams_method_output_stream_blocking_flush(
                _: i32,
                ret: *mut u8,
            ) {
                unsafe { store_case(ret, 0) }
            }

            /// `output-stream.subscribe`: a pollable that is always ready.
            #[unsafe(no_mangle)]
            pub extern "C" fn __wasm_import_streams_method_output_stream_subscribe(_: i32) -> i32 {
                1
            }
        };
    };
}
