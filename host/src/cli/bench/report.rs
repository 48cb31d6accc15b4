//! The bench's report as people read it.

use super::Report;

/// The report as `millwright bench` prints it.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phases = [
            ("raw JetStream (baseline)", &self.baseline),
            ("856 pipeline", &self.pipeline),
        ];
        writeln!(
            f,
            "{} documents of {} bytes",
            self.baseline.documents, self.document_bytes
        )?;
        writeln!(
            f,
            "{:<28} {:>10} {:>12} {:>10} {:>10}",
            "", "seconds", "docs/s", "p50 ms", "p99 ms"
        )?;
        for (name, run) in phases {
            writeln!(
                f,
                "{name:<28} {:>10.3} {:>12.0} {:>10.2} {:>10.2}",
                run.seconds, run.per_second, run.p50_ms, run.p99_ms
            )?;
        }
        writeln!(f, "pipeline / baseline throughput: {:.2}x", self.ratio)?;
        if phases.iter().any(|(_, run)| run.cpu.is_none()) {
            return writeln!(
                f,
                "CPU time not measured: /proc/<pid>/stat cannot be read here"
            );
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<28} {:>12} {:>12} {:>10} {:>10}",
            "CPU per document", "millwright", "nats-server", "total", "busy"
        )?;
        let micros = |us: f64| format!("{us:.1} µs");
        for (name, run) in phases {
            let Some(cpu) = &run.cpu else { continue };
            writeln!(
                f,
                "{name:<28} {:>12} {:>12} {:>10} {:>9.0}%",
                micros(cpu.host_us_per_document),
                cpu.server_us_per_document
                    .map_or_else(|| "not seen".to_string(), micros),
                micros(cpu.total_us_per_document),
                cpu.busy * 100.0
            )?;
        }
        for (name, run) in phases {
            // A process's CPU is read in whole ticks at either end, so its difference is off by under a tick.
            let Some(cpu) = &run.cpu else { continue };
            let processes = if cpu.server_us_per_document.is_some() {
                2.0
            } else {
                1.0
            };
            let error = processes * self.cpu_tick_ms / cpu.total_ms.max(self.cpu_tick_ms);
            if error > 0.1 {
                writeln!(
                    f,
                    "{name}: {:.0} ms of CPU in all, so its CPU figures are good to ±{:.0}% only; more --documents \
narrow that",
                    cpu.total_ms,
                    error * 100.0
                )?;
            }
        }
        if let Some(ceiling) = self.pipeline_cpu_ceiling_per_second {
            writeln!(
                f,
                "with all {} cores busy, the pipeline's CPU per document allows at most {ceiling:.0} docs/s: {:.2}x \
this baseline",
                self.cores,
                ceiling / self.baseline.per_second
            )?;
        }
        if !self.server_seen {
            writeln!(
                f,
                "nats-server's CPU is not seen (the bench joined it by --nats-url): total and busy count this \
process alone"
            )?;
        }
        writeln!(
            f,
            "CPU is user + system time from /proc/<pid>/stat ({} ms ticks); busy = CPU / (wall time × {} cores), \
other processes on the machine not counted",
            self.cpu_tick_ms, self.cores
        )
    }
}
