#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# compare.sh's report: medians over the rounds of raw.tsv (ROUND KIND METRIC
# VALUE per line) into results.json, results.md and a gnuplot script for
# throughput.png.
#   compare_report.py RAW OUT_DIR MACHINE WGUD_VERSION WGGO_VERSION ROUNDS SECONDS
import json
import math
import os
import statistics
import sys
import time

KINDS = [("uu", "wgud <-> wgud"), ("ug", "wgud <-> wireguard-go"), ("gg", "wireguard-go <-> wireguard-go")]
# metric, label, unit, better ("high" or "low")
METRICS = [
    ("tcp1_mbit", "TCP, 1 stream", "Mbit/s", "high"),
    ("tcp4_mbit", "TCP, 4 streams", "Mbit/s", "high"),
    ("udp_mbit", "UDP 1400 B packets at full rate, received", "Mbit/s", "high"),
    ("udp_loss_pct", "UDP loss", "%", "low"),
    ("rtt_idle_ms", "ping RTT, idle", "ms", "low"),
    ("rtt_load_ms", "ping RTT, under TCP load", "ms", "low"),
    ("cpu_s_per_gb", "CPU, both daemons, per GB (1 stream)", "s", "low"),
    ("rss_idle_a_kib", "RSS idle, A", "KiB", "low"),
    ("rss_idle_b_kib", "RSS idle, B", "KiB", "low"),
    ("rss_peak_a_kib", "RSS peak, A", "KiB", "low"),
    ("rss_peak_b_kib", "RSS peak, B", "KiB", "low"),
]


def median(values):
    vals = [v for v in values if not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")


def fmt(v):
    if math.isnan(v):
        return "-"
    return "%.0f" % v if abs(v) >= 100 else "%.2f" % v


def main():
    raw, out, machine, wgud_v, wggo_v, rounds, secs = sys.argv[1:8]
    samples = {}
    with open(raw, encoding="ascii") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            _, kind, metric, value = parts
            try:
                v = float(value)
            except ValueError:
                v = float("nan")
            samples.setdefault(kind, {}).setdefault(metric, []).append(v)
    med = {k: {m: median(samples.get(k, {}).get(m, [])) for m, *_ in METRICS} for k, _ in KINDS}

    doc = {
        "machine": machine, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wgud": wgud_v, "wireguard_go": wggo_v, "rounds": int(rounds), "seconds": int(secs),
        "pairs": {k: {"name": name, "median": med[k], "samples": samples.get(k, {})} for k, name in KINDS},
    }
    with open(os.path.join(out, "results.json"), "w", encoding="ascii") as f:
        json.dump(doc, f, indent=1, sort_keys=True, default=lambda x: None)
        f.write("\n")

    lines = [
        "Machine: %s. %s; %s. Medians of %s rounds, %s s per run, the pairs alternating." % (
            machine, wgud_v, wggo_v, rounds, secs),
        "",
        "| measure | " + " | ".join(name for _, name in KINDS) + " | wgud<->wgud vs wireguard-go<->itself |",
        "| --- | " + " | ".join("---:" for _ in KINDS) + " | ---: |",
    ]
    for m, label, unit, _better in METRICS:
        uu, gg = med["uu"][m], med["gg"][m]
        ratio = "%.2fx" % (uu / gg) if gg and not math.isnan(uu) and not math.isnan(gg) else "-"
        lines.append("| %s (%s) | %s | %s |" % (label, unit, " | ".join(fmt(med[k][m]) for k, _ in KINDS), ratio))
    with open(os.path.join(out, "results.md"), "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")

    data = os.path.join(out, "throughput.dat")
    with open(data, "w", encoding="ascii") as f:
        f.write("measure\t" + "\t".join('"%s"' % name for _, name in KINDS) + "\n")
        for (m, *_), short in zip(METRICS[:3], ("TCP, 1 stream", "TCP, 4 streams", "UDP, 1400 B packets")):
            f.write('"%s"\t%s\n' % (short, "\t".join("%.1f" % (0 if math.isnan(med[k][m]) else med[k][m]) for k, _ in KINDS)))
    with open(os.path.join(out, "throughput.gp"), "w", encoding="ascii") as f:
        f.write("""set terminal pngcairo size 900,500 noenhanced
set output 'throughput.png'
set title "%s\\n%s\\nmedians of %s rounds of %s s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'Mbit/s'
set yrange [0:*]
set key outside top center horizontal
set grid ytics
plot 'throughput.dat' using 2:xtic(1) title columnheader(2), '' using 3 title columnheader(3), '' using 4 title columnheader(4)
""" % (machine.replace('"', "'"), wggo_v.replace('"', "'"), rounds, secs))


if __name__ == "__main__":
    main()
