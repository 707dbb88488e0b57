//! Criterion: the time to draw one complete frame of each wizard screen into ratatui's TestBackend
//! at 80x24, and the cost of one keystroke in the Scopes filter on the whole catalogue.
//! `benches/run.sh` reads the medians from `target/criterion/*/*/new/estimates.json`.

#[path = "../tests/wizard_support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::*;
use zoho_auth::wizard::{Key, Time, Wizard, update};

/// The query typed in the keystroke benches, one character per keystroke.
pub const QUERY: &str = "books invoices read";

fn screens() -> Vec<(&'static str, Wizard, Time)> {
    vec![
        ("1_data_center", fresh(), t(0)),
        ("2_client", at_client(), t(0)),
        ("3_scopes", at_scopes(), t(0)),
        ("4_generate_code", at_generate(), t(0)),
        ("5_paste_code", at_paste(), t(40)),
        ("6_exchange", at_exchange(), t(41)),
        ("7_live_test", at_live_test(), t(45)),
        ("8_save", at_save(), t(50)),
        ("9_done", at_done(), t(60)),
    ]
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for (name, w, now) in screens() {
        let mut term = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
        group.bench_function(name, |b| {
            b.iter(|| {
                // A complete frame: clearing drops the previous buffer, so every cell is written.
                term.clear().expect("clear");
                term.draw(|f| zoho_auth::ui::draw(f, black_box(&w), now))
                    .expect("draw");
            })
        });
    }
    group.finish();
}

fn scope_filter(c: &mut Criterion) {
    let prefixes: Vec<&str> = (1..=QUERY.len()).map(|n| &QUERY[..n]).collect();
    let mut group = c.benchmark_group("scope_filter");
    // `auth::scopes::filter` on every prefix of the query: one call per keystroke.
    group.bench_function("filter_per_keystroke", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % prefixes.len();
            black_box(zoho_auth::auth::scopes::filter(black_box(prefixes[i])))
        })
    });
    // What the user waits for after a key in the wizard's `/` filter: the update, then a full
    // frame (whose Scopes list is the filtered catalogue). One iteration types the whole query.
    let mut start = at_scopes();
    key(&mut start, Key::Char('/'), 0);
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    group.bench_function("wizard_query_typed_and_drawn", |b| {
        b.iter_batched(
            || start.clone(),
            |mut w| {
                for ch in QUERY.chars() {
                    update(
                        &mut w,
                        zoho_auth::wizard::Msg::Key {
                            key: Key::Char(ch),
                            now: t(1),
                        },
                    );
                    term.draw(|f| zoho_auth::ui::draw(f, &w, t(1)))
                        .expect("draw");
                }
                w
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, render, scope_filter);
criterion_main!(benches);
