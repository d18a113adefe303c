//! A capturing `tracing_subscriber::Layer`: every span (its name, parent, and fields as created
//! and as recorded later) and every event (its span and fields), kept as data for the tests that
//! check what an operator sees, and optionally written as text lines to a [`Capture`] (the
//! TRACE capture of the secret tests, so that span fields recorded after creation are searched
//! too).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::Capture;

/// One span as captured: its fields hold every value given at creation or recorded later.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    pub name: &'static str,
    pub level: Level,
    /// The index of the parent span in [`Spans::spans`].
    pub parent: Option<usize>,
    pub fields: BTreeMap<String, String>,
}

impl SpanRecord {
    /// The value of field `name`, if it was set.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// One event as captured.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub level: Level,
    /// The index of the span it happened in, in [`Spans::spans`].
    pub span: Option<usize>,
    pub fields: BTreeMap<String, String>,
}

impl EventRecord {
    /// The value of field `name` (`message` for the text).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Store {
    spans: Vec<SpanRecord>,
    events: Vec<EventRecord>,
    /// Live span ids (the registry reuses them) to their record.
    live: HashMap<Id, usize>,
}

/// The layer, and the handle a test reads the captured spans and events from.
#[derive(Clone, Default)]
pub struct Spans {
    store: Arc<Mutex<Store>>,
    text: Option<Capture>,
}

impl Spans {
    /// A layer that also writes each span, record and event as a line into `capture`.
    pub fn writing_to(capture: Capture) -> Self {
        Self {
            store: Arc::default(),
            text: Some(capture),
        }
    }

    /// Every span captured so far, in the order they were created.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.store.lock().unwrap().spans.clone()
    }

    /// Every event captured so far.
    pub fn events(&self) -> Vec<EventRecord> {
        self.store.lock().unwrap().events.clone()
    }

    /// The spans named `name`, with their indexes.
    pub fn named(&self, name: &str) -> Vec<(usize, SpanRecord)> {
        self.spans()
            .into_iter()
            .enumerate()
            .filter(|(_, s)| s.name == name)
            .collect()
    }

    /// The spans named `name` whose parent is span `parent`.
    pub fn children(&self, parent: usize, name: &str) -> Vec<SpanRecord> {
        self.named(name)
            .into_iter()
            .filter(|(_, s)| s.parent == Some(parent))
            .map(|(_, s)| s)
            .collect()
    }

    fn write_line(&self, line: String) {
        if let Some(text) = &self.text {
            text.0.lock().unwrap().extend_from_slice(line.as_bytes());
        }
    }
}

/// Collects field values as text.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

fn render(fields: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        let _ = write!(out, " {k}={v}");
    }
    out
}

impl<S> Layer<S> for Spans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent_id = ctx.span(id).and_then(|s| s.parent()).map(|p| p.id());
        let line = format!("SPAN {}{}\n", attrs.metadata().name(), render(&fields));
        {
            let mut store = self.store.lock().unwrap();
            let parent = parent_id.and_then(|p| store.live.get(&p).copied());
            let index = store.spans.len();
            store.spans.push(SpanRecord {
                name: attrs.metadata().name(),
                level: *attrs.metadata().level(),
                parent,
                fields,
            });
            store.live.insert(id.clone(), index);
        }
        self.write_line(line);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        values.record(&mut Fields(&mut fields));
        let name = {
            let mut store = self.store.lock().unwrap();
            let Some(&index) = store.live.get(id) else {
                return;
            };
            let span = &mut store.spans[index];
            span.fields.extend(fields.clone());
            span.name
        };
        self.write_line(format!("RECORD {name}{}\n", render(&fields)));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span_id = ctx.event_span(event).map(|s| s.id());
        let line = format!("EVENT{}\n", render(&fields));
        {
            let mut store = self.store.lock().unwrap();
            let span = span_id.and_then(|s| store.live.get(&s).copied());
            store.events.push(EventRecord {
                level: *event.metadata().level(),
                span,
                fields,
            });
        }
        self.write_line(line);
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        self.store.lock().unwrap().live.remove(&id);
    }
}
