#!/usr/bin/env bash
# On the GPU machine (NVIDIA, Vulkan, no Node): unpacks part PART of the pack that scripts/device/pack.js
# made (.devpack/PART, carried by the device call) and runs that part's jobs, writing under $OUT:
#   bench-vit    vit bench on WebGPU and on WebAssembly, seed and wide configs, batch 128 and 256   (part 1)
#   bench-torch  PyTorch on CUDA through tools/pytorch/peer.py: eager, eager with fused qkv, torch.compile (part 2)
#   train        vit train --recipe fast --time-budget 3m on the whole data set, then vit eval       (last part)
# Unpacked files stay in $VIT_DEVICE_HOME (/tmp/vit-device) for the next call, while the machine is warm.
#
#   bash scripts/device/run.sh PART [JOB...]        (jobs default to the part's, from its manifest.json)
# Here, to try it: OUT=/tmp/out VIT_DEVICE_BACKEND=wasm VIT_DEVICE_SHORT=1 bash scripts/device/run.sh 1
#   VIT_DEVICE_BACKEND  the backend of the vit-ts runs (webgpu; 'wasm' where --backend webgpu is not wired)
#   VIT_DEVICE_SHORT    1: tiny runs (a check of the script, not a measurement)
set -uo pipefail
part=${1:?usage: run.sh PART [JOB...]}
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
pack=$repo/.devpack/$part
home=${VIT_DEVICE_HOME:-/tmp/vit-device}
out=${OUT:-$repo/device-out}
backend=${VIT_DEVICE_BACKEND:-webgpu}
short=${VIT_DEVICE_SHORT:-0}
mkdir -p "$home/pieces" "$out"
exec > >(tee -a "$out/part$part.log") 2>&1
[ -f "$pack/manifest.json" ] || { echo "run.sh: $pack/manifest.json is missing: carry .devpack/$part (made by scripts/device/pack.js)"; exit 1; }

# A value from the part's manifest.json: a Python expression over m (the manifest) and part.
manifest() { python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"m": m, "part": sys.argv[3]}))' "$pack/manifest.json" "$1" "$part"; }
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || read -r -a jobs <<<"$(manifest '" ".join(m["jobs"][part])')"
echo "== part $part of $(manifest 'm["parts"]'), jobs: ${jobs[*]:-none}; $(date -u +%FT%TZ)"
# Keeps each call inside the device's 10-minute limit per command (VIT_DEVICE_LIMIT_S, with the call's
# timeout_s of 590 above it) and each job inside its share of the session's 15 minutes (cap, below).
started=$SECONDS
cap_until=$((SECONDS + 100000))
left() { local a=$((${VIT_DEVICE_LIMIT_S:-540} - (SECONDS - started))) b=$((cap_until - SECONDS)); echo $(( a < b ? a : b )); }
cap() { cap_until=$((SECONDS + $1)); }
# Seconds a command may take to leave $1 s of the call's share (at least 1: timeout 0 would mean none).
within() { local t=$(( $(left) - $1 )); echo $(( t > 0 ? t : 1 )); }

# JSON line: {"job": …, tags…, "result": <the command's last stdout line, if JSON>, "error": …}
record() { # FILE TAGS_JSON STATUS STDOUT_FILE STDERR_FILE
  python3 - "$@" <<'PY'
import json, sys
path, tags, status, stdout, stderr = sys.argv[1:6]
line = json.loads(tags)
text = open(stdout).read().strip().splitlines()
try:
    line["result"] = json.loads(text[-1]) if text else None
    line["results"] = [json.loads(t) for t in text if t.startswith("{")]
except ValueError:
    line["result"] = None
if status != "0":
    line["error"] = (open(stderr).read().strip().splitlines() or ["exit " + status])[-1][:500]
    line["exit"] = int(status)
open(path, "a").write(json.dumps(line) + "\n")
print(json.dumps({k: v for k, v in line.items() if k != "results"})[:400])
PY
}

{ date -u; uname -a; nproc; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1;
  ldconfig -p | grep -E 'libvulkan|nvidia' | head -5; } > "$out/machine.txt" 2>&1

# xz -dc, or Python's lzma where the image has no xz.
unxz() { if command -v xz >/dev/null; then xz -dc; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer, 1 << 20)'; fi; }

# The pieces of the data this part carries, and the tools.
for piece in "$pack"/data.*; do [ -e "$piece" ] && cp "$piece" "$home/pieces/"; done
if [ -f "$pack/node.xz" ]; then
  rm -rf "$home/vit" && unxz < "$pack/node.xz" > "$home/node" && chmod +x "$home/node" && unxz < "$pack/vit.tar.xz" | tar -x -C "$home" ||
    { echo "run.sh: unpacking the tools failed"; exit 1; }
fi
node=$home/node
vit=$home/vit/dist/src/cli/main.js
need_tools() { [ -x "$node" ] && [ -f "$vit" ] || { echo "run.sh: no tools in $home (a fresh machine?): run part 1 first, then this part at once"; return 1; }; }

# Vulkan: the image's loader if it has one, else the packed Debian packages unpacked into / (the device README's
# recipe: the loader and the GL dispatch libraries NVIDIA's driver needs); the driver's ICD where the loader will not look.
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  if [ -d "$pack/gl" ]; then
    for deb in "$pack"/gl/*.deb; do dpkg -x "$deb" /; done; ldconfig
    echo "Vulkan loader: the packed one ($(ls "$pack"/gl | tr '\n' ' '))"
  else
    echo "run.sh: this machine has no Vulkan loader (libvulkan.so.1); part 1 brings one: run part 1 first"
  fi
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
fi

adapter() {
  (cd "$home/vit" && timeout 60 "$node" --input-type=module -e "
    const { create, globals } = await import('webgpu'); Object.assign(globalThis, globals);
    const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) { console.log('no WebGPU adapter'); process.exit(1); }
    const i = adapter.info ?? {};
    console.log(JSON.stringify({ vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
      fallback: adapter.isFallbackAdapter ?? i.isFallbackAdapter, features: [...adapter.features].sort(),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize }));")
}

bench_vit() {
  need_tools || return 1
  cap "${VIT_DEVICE_VIT_S:-180}"
  echo "-- WebGPU adapter"; adapter 2>&1 | tee "$out/adapter.json"
  local seed='{}' wide='{"hidden_size":192,"num_hidden_layers":6,"num_attention_heads":6,"intermediate_size":384}'
  local steps_gpu=50 steps_cpu=10 batches=(128 256)
  if [ "$short" = 1 ]; then steps_gpu=2; steps_cpu=1; batches=(8 16); fi
  for name in seed wide; do
    local config=$seed; [ $name = wide ] && config=$wide
    for batch in "${batches[@]}"; do
      for b in "$backend" wasm; do
        [ "$b" = wasm ] && [ "$backend" = wasm ] && [ "${done_wasm:-}" = "$name$batch" ] && continue
        local steps=$steps_gpu; [ "$b" = wasm ] && steps=$steps_cpu
        [ "$(left)" -gt 60 ] || { echo "skipped: vit bench $b $name $batch (out of time)"; continue; }
        local flags=(bench --json --batch-size "$batch" --steps "$steps" --config "$config")
        [ "$b" != wasm ] && flags+=(--backend "$b")
        timeout "$(within 30)" "$node" "$vit" "${flags[@]}" >/tmp/vit-run.out 2>/tmp/vit-run.err
        record "$out/bench-vit.jsonl" "{\"job\":\"vit bench\",\"backend\":\"$b\",\"config\":\"$name\",\"batch\":$batch,\"steps\":$steps}" $? /tmp/vit-run.out /tmp/vit-run.err
        [ "$b" = wasm ] && done_wasm=$name$batch
      done
    done
  done
  # Where a step's time goes on the GPU (timestamp queries where the adapter has them).
  if [ "$(left)" -gt 60 ] && [ "$backend" != wasm ]; then
    timeout "$(within 30)" "$node" "$vit" bench --json --profile --backend "$backend" --batch-size "${batches[1]}" --steps "$steps_gpu" \
      >/tmp/vit-run.out 2>/tmp/vit-run.err
    record "$out/bench-vit.jsonl" "{\"job\":\"vit bench --profile\",\"backend\":\"$backend\",\"config\":\"seed\",\"batch\":${batches[1]}}" $? /tmp/vit-run.out /tmp/vit-run.err
  fi
}

bench_torch() {
  local wide='{"hidden_size":192,"num_hidden_layers":6,"num_attention_heads":6,"intermediate_size":384}'
  local device=cuda steps=50 warmup=5 batches=128,256
  if [ "$short" = 1 ]; then device=${VIT_DEVICE_TORCH:-cuda}; steps=2; warmup=1; batches=8,16; fi
  export PYTHONUNBUFFERED=1
  cap "${VIT_DEVICE_TORCH_S:-270}"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0))'
  # PyTorch's best first: fused qkv eager, then torch.compile; the seed's per-head attention last, if time is left.
  # VIT_DEVICE_TORCH_MODES may add compile-graphs-fused: torch.compile's reduce-overhead mode (CUDA graphs).
  for mode in ${VIT_DEVICE_TORCH_MODES:-eager-fused compile-fused eager}; do
    for name in seed wide; do
      local config='{}'; [ $name = wide ] && config=$wide
      [ "$(left)" -gt 90 ] || { echo "skipped: peer.py $mode $name (out of time)"; continue; }
      local flags=(bench --device "$device" --batch "$batches" --steps "$steps" --warmup "$warmup" --config "$config")
      case $mode in *fused*) flags+=(--fused) ;; esac
      case $mode in compile-graphs*) flags+=(--compile --compile-mode reduce-overhead) ;; compile*) flags+=(--compile) ;; esac
      timeout "$(within 30)" python3 "$repo/tools/pytorch/peer.py" "${flags[@]}" >/tmp/vit-run.out 2>/tmp/vit-run.err
      record "$out/bench-torch.jsonl" "{\"job\":\"peer.py\",\"mode\":\"$mode\",\"config\":\"$name\"}" $? /tmp/vit-run.out /tmp/vit-run.err
    done
  done
}

train() {
  need_tools || return 1
  local pieces; pieces=$(manifest 'm["data"]["pieces"]')
  local have; have=$(ls "$home/pieces" | grep -c '^data\.' || true)
  if [ "$have" != "$pieces" ]; then
    echo "run.sh: $have of the $pieces data pieces are here (the machine was started afresh between calls?): run parts 1…$part again, one right after the other"
    return 1
  fi
  local data=$home/data/cifar-10-batches-bin
  if [ ! -f "$data/test_batch.bin" ]; then
    local sum; sum=$(cat "$home"/pieces/data.* | sha256sum | cut -d' ' -f1)
    [ "$sum" = "$(manifest 'm["data"]["sha256"]')" ] || { echo "run.sh: the data pieces do not add up (sha256 $sum)"; return 1; }
    mkdir -p "$home/data" && cat "$home"/pieces/data.* | unxz | tar -x -C "$home/data" || { echo "run.sh: unpacking the data failed"; return 1; }
  fi
  local budget=3m flags=() evalflags=()
  [ "$short" = 1 ] && { budget=20s; flags=(--train-samples 512 --test-samples 256); evalflags=(--test-samples 256); }
  [ "$backend" != wasm ] && flags+=(--backend "$backend")
  rm -rf "$home/exp"
  echo "-- vit train --recipe fast --time-budget $budget ${flags[*]}"
  timeout "$(within 60)" "$node" "$vit" train --recipe fast --time-budget "$budget" --data "$data" \
    --out "$home/exp" --exp-name "fast-$backend" "${flags[@]}" 2>&1 | tail -n 40
  local status=${PIPESTATUS[0]}
  local dir=$home/exp/fast-$backend
  for f in config.json metrics.json; do [ -f "$dir/$f" ] && cp "$dir/$f" "$out/train-$f"; done
  [ "$status" = 0 ] || { echo "run.sh: vit train exited $status"; return 1; }
  echo "-- vit eval (WebAssembly) of the model trained on $backend"
  timeout "$(within 10)" "$node" "$vit" eval --json --model "$dir" --data "$data" "${evalflags[@]}" | tee "$out/eval.json"
}

failed=0
for job in "${jobs[@]}"; do
  echo "== $job ($(left) s left)"
  case $job in
    bench-vit) bench_vit || failed=1 ;;
    bench-torch) bench_torch || failed=1 ;;
    train) train || failed=1 ;;
    *) echo "run.sh: no job named $job (bench-vit, bench-torch, train)"; failed=1 ;;
  esac
done
echo "== part $part done in $((SECONDS - started)) s; files in $out: $(ls "$out" | tr '\n' ' ')"
exit $failed
