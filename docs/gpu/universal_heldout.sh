#!/bin/bash
# worlddit-universal v1 and the held-out maps, in one call on a GPU machine (16 cores, one GPU):
#   A  the universal world model: train_world.py on the default map + 64 procedural maps of varied
#      styles (mapgen seeds 100-163, never the held-out ones), from worlddit-worldmap v1 (FROM); beside it,
#      worlddit-worldmap v1 trained on for longer on its own map, and real-env PPO
#      references on the held-out maps;
#   B  on each held-out map, the one command fine-tuning the universal model and the one command
#      from scratch, at the same budget, at the same time; PPO in the universal model's dream;
#   C  the benchmark's measures of (a) zero-shot, (b) fine-tuned, (c) scratch on each held-out map,
#      PPO in (b) and (c)'s dreams; the default map's measures of v1 / universal / longer.
# Usage (repo root): OUT=dir bash docs/gpu/universal_heldout.sh   (wheels for gymnasium, sb3, tyro in .whl/)
set -u
OUT=${OUT:-runs/gpu_universal}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 SDL_AUDIODRIVER=dummy SDL_VIDEODRIVER=dummy OMP_NUM_THREADS=2
source docs/gpu/setup.sh
UB=${UB:-180}; FB=${FB:-90}; DB=${DB:-240}; NEAR=${NEAR:-30000}; FAR=${FAR:-50000}; DEADLINE=${DEADLINE:-555}
MAPS=${MAPS:-"mapgen_900 mapgen_901 city"}; SEEDS=${SEEDS:-100-163}; DEV=${DEV:-cuda}
R=${R:-runs/universal_heldout}; FROM=${FROM:-v1.pt}; mkdir -p "$R"
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
left() { local x=$(( DEADLINE - $(el) )); [ "$x" -lt 5 ] && x=5; echo "$x"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
TW="python3 train_world.py --device $DEV --no-progress --threads 2"
python3 -m worldgen_core.mapgen --seeds "$SEEDS" --random-style --width 768 --height 512 --out-dir "$R/maps" -j 16
echo "== [$(el) s] A: universal, default-map longer, real-env references"
$TW --extra-maps "$R/maps" --pretrained "$FROM" --time-budget "$UB" --out "$R/universal" > "$R/universal.log" 2>&1 &
PU=$!
$TW --pretrained "$FROM" --time-budget "$DB" --out "$R/default_more" > "$R/default_more.log" 2>&1 &
PD=$!
PR=""
for m in $MAPS; do
  for task in near far; do
    if [ "$task" = near ]; then steps=$NEAR; ex=correlation; else steps=$FAR; ex=place; fi
    python3 train_agent.py --env WorldMap-v0 --task "$task" --map "data/heldout/$m.png" --timesteps "$steps" --extractor "$ex" --eval-every 0 \
      --eval-episodes 200 --n-envs 16 --seed 0 --device cpu --no-progress --out "$R/bench_$m/agents/$task/real_seed0" > "$R/real_${m}_$task.log" 2>&1 &
    PR="$PR $!"
  done
done
wait $PU; echo "[$(el) s] universal: $(tail -1 "$R/universal.log")"
wait $PR; echo "[$(el) s] real-env references done: $(grep -h 'real-env success' "$R"/real_*.log | sed 's/;.*//' | tr '\n' '|')"
echo "== [$(el) s] B: fine-tuned and scratch (one command, ${FB}s each, side by side); PPO in the zero-shot dream"
PB=""
for m in $MAPS; do
  $TW --map "data/heldout/$m.png" --pretrained "$R/universal/world_model.pt" --time-budget "$FB" --out "$R/ft_$m" > "$R/ft_$m.log" 2>&1 &
  PB="$PB $!"
  $TW --map "data/heldout/$m.png" --time-budget "$FB" --out "$R/scratch_$m" > "$R/scratch_$m.log" 2>&1 &
  PB="$PB $!"
  timeout $(left) python3 -m worldbench.transfer "zero-shot=$R/universal/world_model.pt" --map "data/heldout/$m.png" --steps "$NEAR" "$FAR" \
    --jobs 2 --device $DEV --out "$R/bench_$m/agents" --json "$R/bench_$m/transfer_zs.json" > "$R/transfer_zs_$m.log" 2>&1 &
  PZ="${PZ:-} $!"
done
wait $PB; echo "[$(el) s] one-command runs done: $(grep -h 'done: step' "$R"/ft_*.log "$R"/scratch_*.log | tr '\n' '|')"
echo "== [$(el) s] C: measures and PPO in the fine-tuned and scratch dreams"
for m in $MAPS; do
  timeout $(left) python3 -m worldbench "zero-shot=$R/universal/world_model.pt" "fine-tuned=$R/ft_$m/world_model.pt" \
    "scratch=$R/scratch_$m/world_model.pt" "v1=$FROM" copy shift ${QUICK:+--quick} --map "data/heldout/$m.png" --device $DEV --out "$R/bench_$m" > "$R/bench_$m.log" 2>&1 &
  timeout $(left) python3 -m worldbench.transfer "fine-tuned=$R/ft_$m/world_model.pt" "scratch=$R/scratch_$m/world_model.pt" \
    --map "data/heldout/$m.png" --steps "$NEAR" "$FAR" --jobs 4 --device $DEV --out "$R/bench_$m/agents" --json "$R/bench_$m/transfer_ft.json" > "$R/transfer_ft_$m.log" 2>&1 &
done
wait $PD; echo "[$(el) s] default_more: $(tail -1 "$R/default_more.log")"
timeout $(left) python3 -m worldbench "v1=$FROM" "universal=$R/universal/world_model.pt" \
  "longer=$R/default_more/world_model.pt" ${QUICK:+--quick} --device $DEV --out "$R/bench_default" > "$R/bench_default.log" 2>&1
wait
pkill -9 -f multiprocessing.spawn; pkill -9 -f worldbench  # workers a timeout orphaned: no partial reports
echo "== [$(el) s] collect"
cp "$R/universal/world_model.pt" "$OUT/universal.pt"; cp "$R/default_more/world_model.pt" "$OUT/default_more.pt" 2>/dev/null
# (the agents' GIFs are left out: with them the archive is about 81 MB)
tar czf "$OUT/results.tgz" --exclude='*.pt' --exclude='*/tb' --exclude='maps' --exclude='*.zip' --exclude='*.gif' "$R"
ls -la "$OUT"; echo "== [$(el) s] done"
