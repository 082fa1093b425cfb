//! Signals: listeners wake on delivery, in any color, and bad signal numbers are refused.
//! (Their own test binary: they change the process's signal dispositions.)

mod common;

use std::io;

use hue::signal::{ctrl_c, signal, SignalKind};
use hue::Color;

fn raise(signum: libc::c_int) {
    // SAFETY: raise has no memory-safety preconditions.
    assert_eq!(unsafe { libc::raise(signum) }, 0);
}

#[test]
fn a_delivery_wakes_listeners_in_different_colors() {
    let _w = common::watchdog("a_delivery_wakes_listeners_in_different_colors");
    let rt = common::runtime(2);
    rt.block_on(async {
        let mut listeners = Vec::new();
        for _ in 0..4 {
            let mut hup = signal(SignalKind::hangup()).unwrap();
            listeners.push(hue::spawn_colored(Color::fresh(), async move {
                hup.recv().await
            }));
        }
        raise(libc::SIGHUP);
        for l in listeners {
            assert_eq!(l.await.unwrap(), Some(()));
        }
    });
}

#[test]
fn deliveries_before_recv_are_kept_and_coalesce() {
    let _w = common::watchdog("deliveries_before_recv_are_kept_and_coalesce");
    let rt = common::runtime(1);
    rt.block_on(async {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        raise(libc::SIGUSR1);
        raise(libc::SIGUSR1);
        assert_eq!(usr1.recv().await, Some(()));
        // Both deliveries came before the first recv: they count at most twice, and a later
        // delivery is still seen.
        raise(libc::SIGUSR1);
        assert_eq!(usr1.recv().await, Some(()));
    });
}

#[test]
fn ctrl_c_completes_on_sigint() {
    let _w = common::watchdog("ctrl_c_completes_on_sigint");
    let rt = common::runtime(2);
    rt.block_on(async {
        let mut waiting = std::pin::pin!(ctrl_c());
        // The first poll starts listening.
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        raise(libc::SIGINT);
        waiting.await.unwrap();
    });
}

#[test]
fn forbidden_and_bogus_signals_are_invalid_input() {
    let rt = common::runtime(1);
    rt.block_on(async {
        for signum in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, -3, 100_000] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
            assert!(err.to_string().contains(&signum.to_string()), "{err}");
        }
    });
}

#[test]
fn outside_a_runtime_is_an_error_not_a_panic() {
    let err = signal(SignalKind::hangup()).unwrap_err();
    assert!(err.to_string().contains("no runtime"), "{err}");
}
