//! The sandbox holds: a plugin that loops, panics, hoards memory or floods output is stopped and reported, the
//! next message runs normally, and a fresh instance per message carries nothing over from the last one. Driven
//! by the `test-misbehaving` plugin, which does each of these on request.

mod support;

use std::time::{Duration, Instant};

use millwright::engine::{Engine, EngineOptions};
use millwright::host_api::SlotContext;
use millwright::invoke::{
    Action, Envelope, Event, FailureClass, InstancePolicy, InvokeError, Limits, Mapper,
};
use millwright::plugin::Plugin;

fn mapper(limits: Limits, policy: InstancePolicy) -> Mapper {
    let engine = Engine::new(&EngineOptions::default()).expect("engine");
    let path = support::component("test-misbehaving");
    let bytes = std::fs::read(&path).expect("read plugin");
    let plugin = Plugin::load(&engine, "test-misbehaving", &bytes).expect("valid plugin");
    Mapper::new(
        &engine,
        plugin,
        SlotContext::new("acme", "test"),
        limits,
        policy,
    )
    .expect("mapper")
}

fn envelope(command: &str) -> Envelope {
    Envelope {
        source: "test".into(),
        message_id: format!("msg-{command}"),
        correlation_id: "corr-1".into(),
        received_at: jiff::Timestamp::UNIX_EPOCH,
        content_type: None,
        file_name: None,
        headers: Vec::new(),
        payload: command.as_bytes().to_vec().into(),
    }
}

fn count(result: Result<Vec<Event>, InvokeError>) -> String {
    let events = result.expect("count maps");
    events[0].value()["exception"]["message"]
        .as_str()
        .expect("message")
        .to_string()
}

#[test]
fn endless_loop_is_stopped_at_the_deadline_and_the_next_message_runs() {
    let limits = Limits {
        deadline: Duration::from_millis(50),
        ..Limits::default()
    };
    let mapper = mapper(limits, InstancePolicy::Fresh);
    let mut session = mapper.session();
    let started = Instant::now();
    let err = session
        .map(&envelope("loop"))
        .expect_err("the loop is interrupted");
    assert!(matches!(err, InvokeError::Deadline(_)), "{err}");
    assert_eq!(err.action(), Action::Retry);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped near its deadline, not at some later time"
    );
    assert_eq!(
        session
            .map(&envelope("nothing"))
            .expect("next message")
            .len(),
        0
    );
}

#[test]
fn panic_is_a_trap_that_carries_the_panic_message() {
    let mapper = mapper(Limits::default(), InstancePolicy::Fresh);
    let err = mapper
        .session()
        .map(&envelope("panic"))
        .expect_err("panics");
    let InvokeError::Trap { stderr, .. } = &err else {
        panic!("expected a trap, got {err}")
    };
    assert!(
        stderr.as_deref().unwrap_or("").contains("asked to panic"),
        "{err}"
    );
}

#[test]
fn memory_hoarding_stops_at_the_slot_cap() {
    let limits = Limits {
        memory_bytes: 32 << 20,
        ..Limits::default()
    };
    let mapper = mapper(limits, InstancePolicy::Fresh);
    let err = mapper
        .session()
        .map(&envelope("grow"))
        .expect_err("runs out of memory");
    assert!(
        matches!(err, InvokeError::MemoryLimit { cap, asked } if cap == 32 << 20 && asked > cap),
        "{err}"
    );
    assert_eq!(err.class(), FailureClass::MemoryLimit);
    assert_eq!(err.action(), Action::Retry);
    assert!(err.to_string().contains("memory cap of 32 MiB"), "{err}");
    assert_eq!(
        mapper
            .session()
            .map(&envelope("nothing"))
            .expect("next message")
            .len(),
        0
    );
}

#[test]
fn output_over_the_event_limit_is_refused() {
    let limits = Limits {
        max_outputs: 100,
        ..Limits::default()
    };
    let mapper = mapper(limits, InstancePolicy::Fresh);
    assert_eq!(
        mapper
            .session()
            .map(&envelope("flood 100"))
            .expect("at the limit")
            .len(),
        100
    );
    let err = mapper
        .session()
        .map(&envelope("flood 101"))
        .expect_err("over the limit");
    assert!(matches!(err, InvokeError::OutputLimit(_)), "{err}");
    assert_eq!(err.action(), Action::DeadLetter);
}

#[test]
fn output_over_the_byte_limit_is_refused() {
    let limits = Limits {
        max_output_bytes: 4096,
        ..Limits::default()
    };
    let mapper = mapper(limits, InstancePolicy::Fresh);
    let err = mapper
        .session()
        .map(&envelope("flood 50"))
        .expect_err("over the byte limit");
    assert!(matches!(err, InvokeError::OutputLimit(_)), "{err}");
}

#[test]
fn fresh_instance_per_message_keeps_no_state_between_messages() {
    let mapper = mapper(Limits::default(), InstancePolicy::Fresh);
    let mut session = mapper.session();
    for _ in 0..3 {
        assert_eq!(count(session.map(&envelope("count"))), "1");
    }
}

#[test]
fn reused_instance_is_recycled_after_its_count_and_after_a_failure() {
    let mapper = mapper(
        Limits::default(),
        InstancePolicy::Reuse { recycle_after: 3 },
    );
    let mut session = mapper.session();
    let seen: Vec<String> = (0..4)
        .map(|_| count(session.map(&envelope("count"))))
        .collect();
    assert_eq!(
        seen,
        ["1", "2", "3", "1"],
        "a new instance after three messages"
    );
    session.map(&envelope("panic")).expect_err("panics");
    assert_eq!(
        count(session.map(&envelope("count"))),
        "1",
        "a trapped instance is replaced"
    );
}

#[test]
fn mapping_errors_decide_the_delivery_action() {
    let mapper = mapper(Limits::default(), InstancePolicy::Fresh);
    let cases = [
        ("invalid", FailureClass::InvalidDocument, Action::DeadLetter),
        ("unknown", FailureClass::UnknownReference, Action::Park),
        ("transient", FailureClass::Transient, Action::Retry),
    ];
    for (command, class, action) in cases {
        let err = mapper.session().map(&envelope(command)).expect_err(command);
        let InvokeError::Mapping { class: got, .. } = &err else {
            panic!("{command}: {err}")
        };
        assert_eq!(*got, class, "{command}");
        assert_eq!(err.action(), action, "{command}");
    }
}

#[test]
fn host_sets_tenant_and_correlation_id_on_every_event() {
    let mapper = mapper(Limits::default(), InstancePolicy::Fresh);
    let mut message = envelope("flood 3");
    message.correlation_id = "corr-from-input".into();
    for event in mapper.session().map(&message).expect("maps") {
        assert_eq!(event.event_type, "exception");
        let header = &event.value()["exception"]["header"];
        assert_eq!(header["tenant"], "acme");
        assert_eq!(header["correlation-id"], "corr-from-input");
    }
}

#[test]
fn plugin_sees_no_environment_no_files_and_a_stopped_clock() {
    let mapper = mapper(Limits::default(), InstancePolicy::Fresh);
    let events = mapper.session().map(&envelope("ambient")).expect("maps");
    let seen = events[0].value()["exception"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert_eq!(
        seen, "env=0 file=false clock=0",
        "the host's environment, files or clock leaked in"
    );
}
