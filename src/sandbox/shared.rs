//! The state every request handler shares: the world behind one mutex and the state file.

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use super::config::Fault;
use super::state::{StateError, StateFile};
use super::world::World;

pub(crate) struct Shared {
    world: Mutex<World>,
    /// `--state FILE`: where the world is saved after each change.
    state: Option<StateFile>,
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Shared {
    pub(crate) fn new(world: World, state: Option<StateFile>) -> Shared {
        Shared {
            world: Mutex::new(world),
            state,
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock leaves consistent-enough data for a simulator.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `--state` file, when there is one.
    pub(crate) fn state_path(&self) -> Option<&std::path::Path> {
        self.state.as_ref().map(StateFile::path)
    }

    /// Runs `f` on the world with the virtual `now`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World, i64) -> R) -> R {
        let mut world = self.lock();
        let now = system_ms() + world.clock_offset_ms;
        f(&mut world, now)
    }

    /// Writes the state file when there is one and the saved part of the world changed.
    pub(crate) fn save(&self) -> Result<(), StateError> {
        match &self.state {
            // The world's lock is held only for the snapshot, not while the disk is written.
            Some(file) => file.write_from(|| self.with(|w, _| w.save())),
            None => Ok(()),
        }
    }

    /// Takes one use of the first fault matching `path`.
    pub(crate) fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut world = self.lock();
        let index = world
            .faults
            .iter()
            .position(|f| f.count > 0 && f.matches(path))?;
        let fault = world.faults[index].clone();
        world.faults[index].count -= 1;
        if world.faults[index].count == 0 {
            world.faults.remove(index);
        }
        world.stats.faults_served += 1;
        Some(fault)
    }
}
