#!/bin/bash
# worlddit-worldmap v3 (realism, and agent transfer that needs content) in one call on a GPU machine:
#   A  from worlddit-worldmap v2 (FROM), side by side at the same budget: the adversarial stage
#      as it is (control), with the discriminator also seeing the bands' high-pass residual
#      (--adv-highpass), and that with 4x the adversarial rows; then the benchmark (C2ST, PSNR) of each;
#   B  beside A, on the spare cores: agent transfer (near, far, drawn; 3 seeds) of worlddit-worldmap v2
#      and of the known-defect noise dream, against real-env PPO.
# The two best models by mean C2ST come back in 15 MB pieces (cat them back together).
# Usage (repo root): OUT=dir bash docs/gpu/realism.sh   (wheels for gymnasium, sb3, tyro in .whl/)
set -u
OUT=${OUT:-runs/gpu_realism}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 SDL_AUDIODRIVER=dummy SDL_VIDEODRIVER=dummy OMP_NUM_THREADS=2
source docs/gpu/setup.sh
B=${B:-400}; R=${R:-runs/realism}; DEADLINE=${DEADLINE:-560}; NEAR=${NEAR:-30000}; FAR=${FAR:-50000}; JOBS=${JOBS:-12}; DEV=${DEV:-cuda}
FROM=${FROM:-v2.pt}; BENCH=${BENCH:-1}  # BENCH=0: no benchmark here, every model comes back
AGENTS=${AGENTS-"v2=$FROM noise_with_memory=worldbench.models:noise_with_memory"}
VARIANTS=${VARIANTS:-"adv: hp:--adv-highpass hp64:--adv-highpass,--adv-batch,64"}
mkdir -p "$R"
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
left() { local x=$(( DEADLINE - $(el) )); [ "$x" -lt 5 ] && x=5; echo "$x"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null

# B: agent transfer on the spare cores (one thread each); finished runs keep their report.json
if [ -n "$AGENTS" ]; then
  OMP_NUM_THREADS=1 timeout $(left) python3 -m worldbench.transfer $AGENTS --tasks near far drawn --seeds 0 1 2 --steps "$NEAR" "$FAR" \
    --jobs "$JOBS" --device $DEV --out "$R/agents" > "$R/agents.log" 2>&1 &
  PA=$!
fi

# A: the adversarial stage from worlddit-worldmap v2, one run per variant
T="python3 -m world_models.training --experiment world_flow --cfg.on --t-sampling logit_normal --batch-size 256 --device $DEV --no-progress --threads 2 --eval-every 0"
P=""
for v in $VARIANTS; do
  name=${v%%:*}; flags=${v#*:}
  ( $T --pretrained "$FROM" --place-field --lr 1e-4 --adv-weight 1.0 --time-budget "$B" ${flags//,/ } --out "$R/$name/adversarial" > "$R/$name.log" 2>&1 &&
    python3 -m world_models.io.export "$R/$name/adversarial/last.pt" "$R/$name/world_model.pt" --steps 1 --cfg-scale 1.0 >> "$R/$name.log" 2>&1 ) &
  P="$P $!"
done
[ -n "$P" ] && wait $P
echo "[$(el) s] trained: $(grep -h 'done: step' "$R"/*.log | tr '\n' '|')"
M=""; for v in $VARIANTS; do n=${v%%:*}; [ -f "$R/$n/world_model.pt" ] && M="$M $n=$R/$n/world_model.pt"; done
PB=""
if [ "$BENCH" = 1 ]; then
  for m in $M; do  # one benchmark per model, side by side (C2ST and PSNR; its speed column is not comparable: the GPU is shared)
    n=${m%%=*}
    timeout $(left) python3 -m worldbench "$m" --device $DEV --threads 2 --out "$R/bench_$n" > "$R/bench_$n.log" 2>&1 &
    PB="$PB $!"
  done
  wait $PB
fi
echo "[$(el) s] benchmarked"
python3 - "$R" $M <<'EOF' | tee "$R/pick.txt"
import json, sys
from pathlib import Path
r = Path(sys.argv[1]); score = {}
for m in sys.argv[2:]:
    n = m.split("=")[0]
    try:
        res = json.loads((r / f"bench_{n}" / "leaderboard.json").read_text())["results"][n]
    except (OSError, KeyError, ValueError):
        continue
    score[n] = (res["c2st_new_accuracy"] + res["c2st_roll16_accuracy"]) / 2
    print(n, *(f"{k}={res[k]:.3f}" for k in ("psnr_new", "rollout_psnr@16", "c2st_new_accuracy", "c2st_roll16_accuracy")))
print("pick", *(sorted(score, key=score.get)[:2] or [m.split("=")[0] for m in sys.argv[2:5]]))  # unbenchmarked: the first three
EOF
for n in $(awk '/^pick/ {for (i = 2; i <= NF; i++) print $i}' "$R/pick.txt"); do split -b 15000000 -d "$R/$n/world_model.pt" "$OUT/$n.pt.part"; done
[ -n "${PA:-}" ] && { echo "[$(el) s] waiting for the agents"; wait $PA; }
echo "[$(el) s] agents: $(grep -c 'x)' "$R/agents.log" 2>/dev/null) rows"
tar czf "$OUT/logs.tgz" "$R"/*.log "$R"/pick.txt "$R"/*/adversarial/args.json "$R"/*/adversarial/tb "$R"/bench_*/leaderboard.* \
  $(find "$R/agents" -name report.json -o -name transfer.json -o -name args.json 2>/dev/null) 2>/dev/null
echo "[$(el) s] done"; ls -la "$OUT"
