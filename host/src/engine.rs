//! The wasmtime engine every plugin runs on, built once per process.
//!
//! It sits under everything that touches WebAssembly: `plugin` compiles components with it, `invoke`
//! instantiates them. It owns three things that must be process-wide: the pooling instance allocator (probed at
//! start, so a machine that cannot reserve the pool says so loudly instead of failing on the first message), the
//! epoch ticker that turns per-call deadlines into traps, and the compile cache that keeps every compiled
//! component on disk under its content hash so no component is compiled twice.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::names::Sha256;
use anyhow::{Context, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How much of each linear memory stays mapped between instances in a pool slot (reset in place).
const MEMORY_KEEP_RESIDENT: usize = 4 << 20;
/// How much of each table stays mapped between instances.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// How often the epoch advances. A deadline is rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Settings for the engine, with defaults that suit one host running many tenants' plugins.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Use the pooling allocator (falls back to on-demand allocation, loudly, when it cannot be set up).
    pub pooling: bool,
    /// How many component instances may be alive at once when pooling (fresh instances and warm ones).
    pub max_instances: u32,
    /// The largest linear memory any plugin may grow to; each plugin's own cap is at most this.
    pub max_memory_bytes: usize,
    /// Where compiled components are cached; none keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Whether compiled code checks the epoch, which is what enforces call deadlines. Always on in the host;
    /// off only to measure what the checks cost (the `epoch` group of the mapping bench).
    pub epoch_interruption: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            pooling: true,
            max_instances: 256,
            max_memory_bytes: 256 << 20,
            cache_dir: None,
            epoch_interruption: true,
        }
    }
}

impl EngineOptions {
    /// Caches compiled components in `dir`.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Turns the epoch checks, and so call deadlines, on or off: off is for measuring their cost only.
    pub fn with_epoch_interruption(mut self, on: bool) -> Self {
        self.epoch_interruption = on;
        self
    }

    /// Turns the pooling allocator on or off.
    pub fn with_pooling(mut self, pooling: bool) -> Self {
        self.pooling = pooling;
        self
    }
}

/// Which instance allocator the engine ended up with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocator {
    /// The pooling allocator: instances reuse pre-reserved slots, memories are reset copy-on-write.
    Pooling,
    /// Every instance maps its own memory. Slower to instantiate; used when pooling was turned off or failed.
    OnDemand {
        /// Why pooling is not in use.
        reason: String,
    },
}

/// The process-wide wasmtime engine with its ticker and compile cache.
#[derive(Clone)]
pub struct Engine {
    inner: wasmtime::Engine,
    allocator: Allocator,
    cache: Option<Arc<CompileCache>>,
    max_memory_bytes: usize,
    _ticker: Arc<Ticker>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("allocator", &self.allocator)
            .field("cache", &self.cache.as_ref().map(|c| &c.path))
            .finish()
    }
}

impl Engine {
    /// Builds the engine. Tries the pooling allocator first when asked to; if the machine cannot reserve the
    /// pool (a low `ulimit -v`, an exhausted address space) it logs an error saying so and runs on demand.
    pub fn new(options: &EngineOptions) -> Result<Self> {
        let (inner, allocator) = if options.pooling {
            match build(options, true).and_then(|engine| probe(&engine).map(|()| engine)) {
                Ok(engine) => (engine, Allocator::Pooling),
                Err(err) => {
                    let reason = format!("{err:#}");
                    tracing::error!(
                        %reason,
                        "the pooling instance allocator cannot be used on this machine; falling back to \
                         on-demand allocation, which makes every instantiation slower (see `millwright doctor`)"
                    );
                    (build(options, false)?, Allocator::OnDemand { reason })
                }
            }
        } else {
            let reason = "pooling turned off in the configuration".to_string();
            (build(options, false)?, Allocator::OnDemand { reason })
        };
        let cache = match &options.cache_dir {
            Some(dir) => Some(Arc::new(CompileCache::open(dir, &inner)?)),
            None => None,
        };
        let ticker = Ticker::start(inner.clone());
        Ok(Self {
            inner,
            allocator,
            cache,
            max_memory_bytes: options.max_memory_bytes,
            _ticker: ticker,
        })
    }

    /// The wasmtime engine itself.
    pub fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner
    }

    /// Which allocator is in use.
    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    /// The largest memory any store may grow to.
    pub fn max_memory_bytes(&self) -> usize {
        self.max_memory_bytes
    }

    /// The number of epoch ticks that covers `deadline`, plus one so a call never gets less than it asked for.
    pub fn ticks_for(deadline: Duration) -> u64 {
        let tick = EPOCH_TICK.as_nanos();
        u64::try_from(deadline.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX / 2) + 1
    }

    /// Compiles a component, or loads it from the compile cache when the same bytes were compiled and kept
    /// before by an engine with the same settings. Compilation is slow (milliseconds to seconds): call this off
    /// the async runtime. Nothing is written to the cache here: a component is kept ([`Engine::keep`]) only once
    /// it has passed every check, so a refused upload leaves nothing behind.
    pub fn compile(&self, bytes: &[u8]) -> Result<(Component, Sha256)> {
        let sha256 = Sha256::of(bytes);
        if let Some(cache) = &self.cache
            && let Some(component) = cache.load(&self.inner, &sha256)
        {
            return Ok((component, sha256));
        }
        let component = Component::new(&self.inner, bytes)?;
        Ok((component, sha256))
    }

    /// Writes a compiled component that passed its checks to the compile cache, unless it is there already, so
    /// the next start or host loads it instead of compiling it again.
    pub fn keep(&self, component: &Component, sha256: &Sha256) {
        if let Some(cache) = &self.cache
            && !cache.contains(sha256)
            && let Err(err) = cache.store(component, sha256)
        {
            // A cache that cannot be written costs a recompile next time, nothing more.
            tracing::warn!(error = %format!("{err:#}"), %sha256, "could not write the compile cache");
        }
    }
}

fn build(options: &EngineOptions, pooling: bool) -> Result<wasmtime::Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(options.epoch_interruption);
    // Fresh instances are cheap only when memories are reset by remapping their initial image.
    config.memory_init_cow(true);
    config.table_lazy_init(true);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(options.max_instances);
        // A component made by wit-component has a main module plus a few small shim modules.
        pool.total_core_instances(options.max_instances.saturating_mul(8));
        pool.max_core_instances_per_component(32);
        pool.total_memories(options.max_instances.saturating_mul(2));
        pool.max_memories_per_component(4);
        pool.total_tables(options.max_instances.saturating_mul(4));
        pool.max_tables_per_component(8);
        pool.table_elements(100_000);
        pool.max_memory_size(options.max_memory_bytes);
        pool.max_component_instance_size(4 << 20);
        pool.max_core_instance_size(4 << 20);
        // Keep recently used slots warm so a fresh instance per message touches few new pages.
        pool.max_unused_warm_slots(64);
        // Reset a released memory by rewriting only the pages the instance dirtied (found with the PAGEMAP_SCAN
        // ioctl where the kernel has it, Linux 6.7+) instead of unmapping them: the next instance in the slot
        // then takes no page faults on them, which is most of what a fresh instance per message costs.
        pool.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT);
        pool.table_keep_resident(TABLE_KEEP_RESIDENT);
        pool.pagemap_scan(Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    wasmtime::Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("creating the wasmtime engine")
}

/// Instantiates a tiny component with a memory, so a pool that was reserved but cannot hand out a memory slot
/// fails here rather than on the first message.
fn probe(engine: &wasmtime::Engine) -> Result<()> {
    const PROBE: &str = r#"(component
        (core module $m (memory (export "memory") 1) (func (export "touch") (i32.store (i32.const 0) (i32.const 1))))
        (core instance (instantiate $m)))"#;
    let component = Component::new(engine, PROBE)
        .map_err(anyhow::Error::from)
        .context("compiling the pool probe")?;
    let linker = wasmtime::component::Linker::<()>::new(engine);
    let mut store = wasmtime::Store::new(engine, ());
    store.set_epoch_deadline(1 << 40);
    linker
        .instantiate(&mut store, &component)
        .map_err(anyhow::Error::from)
        .context("instantiating the pool probe")?;
    Ok(())
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on its own thread until the engine is dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: wasmtime::Engine) -> Arc<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("millwright-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            });
        if let Err(err) = spawned {
            // Without the ticker deadlines never fire; a host that cannot start a thread will fail elsewhere soon.
            tracing::error!(%err, "could not start the epoch ticker: plugin deadlines will not be enforced");
        }
        Arc::new(Self { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Compiled components on disk, named by the sha256 of the component and a hash of the engine settings that
/// make compiled code compatible, so a host upgrade or a changed setting never loads stale code.
struct CompileCache {
    dir: Dir,
    path: PathBuf,
    engine_tag: String,
}

impl CompileCache {
    fn open(path: &Path, engine: &wasmtime::Engine) -> Result<Self> {
        fs::create_dir_all(path)
            .with_context(|| format!("creating the compile cache {}", path.display()))?;
        let dir = Dir::open_ambient_dir(path, ambient_authority())
            .with_context(|| format!("opening the compile cache {}", path.display()))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            path: path.to_path_buf(),
            engine_tag: format!("{:016x}", hasher.finish()),
        })
    }

    fn file_name(&self, sha256: &Sha256) -> String {
        format!("{sha256}-{}.cwasm", self.engine_tag)
    }

    fn contains(&self, sha256: &Sha256) -> bool {
        self.dir.exists(self.file_name(sha256))
    }

    fn load(&self, engine: &wasmtime::Engine, sha256: &Sha256) -> Option<Component> {
        let bytes = self.dir.read(self.file_name(sha256)).ok()?;
        // SAFETY: the file was written by `store` below from `Component::serialize` of this very engine
        // configuration (the name carries the compatibility hash), inside the host's own data directory, which
        // nothing else writes. wasmtime still checks the header and rejects files from other versions.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, &bytes) };
        match loaded {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), %sha256, "ignoring an unusable compile cache entry");
                None
            }
        }
    }

    fn store(&self, component: &Component, sha256: &Sha256) -> Result<()> {
        let bytes = component.serialize()?;
        let name = self.file_name(sha256);
        // Unique per process and call: two hosts (or two tests) compiling the same plugin at once must not write
        // into one file; the rename then publishes a complete file atomically, and the last one wins.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let write = WRITES.fetch_add(1, Ordering::Relaxed);
        let partial = format!("{name}.{}.{write}.partial", std::process::id());
        let mut file = self.dir.create(&partial)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        self.dir.rename(&partial, &self.dir, &name)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_rounded_up_to_whole_ticks_plus_one() {
        assert_eq!(Engine::ticks_for(Duration::from_millis(2)), 2);
        assert_eq!(Engine::ticks_for(Duration::from_millis(3)), 3);
        assert_eq!(Engine::ticks_for(Duration::ZERO), 1);
    }

    #[test]
    fn pooling_engine_passes_its_probe_here() {
        let engine = Engine::new(&EngineOptions::default()).expect("engine");
        assert_eq!(engine.allocator(), &Allocator::Pooling);
    }

    #[test]
    fn compiled_component_is_reused_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = EngineOptions::default()
            .with_pooling(false)
            .with_cache_dir(dir.path());
        let engine = Engine::new(&options).expect("engine");
        let wat = "(component (core module))";
        let bytes = wat::parse_str(wat).expect("wat");
        let (component, sha) = engine.compile(&bytes).expect("compile");
        let entries = || fs::read_dir(dir.path()).expect("ls").count();
        assert_eq!(
            entries(),
            0,
            "nothing is cached before the component is kept"
        );
        engine.keep(&component, &sha);
        assert_eq!(entries(), 1, "one cache entry once it is kept");
        let cache = engine.cache.as_ref().expect("cache");
        assert!(cache.load(engine.wasmtime(), &sha).is_some());
        engine.keep(&component, &sha);
        assert_eq!(entries(), 1, "kept once");
    }
}
