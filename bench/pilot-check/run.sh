#!/bin/bash
# run.sh OUT TAG "extra args" -- rho 0 then rho 0.5 at the d96 budget, seeds given by SEEDS
out=$(realpath "$1"); tag=$2; extra=$3
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
cd /tmp/ushape
for s in ${SEEDS:-0}; do
for arm in "0 2 11048" "0.5 11 5179"; do
  set -- $arm
  /usr/bin/python3 "$here"/ptrain.py --rho $1 --routed $2 --rows $3 --seed $s --tokens 2048000 --d 96 --eh 72 --nb 17 --warmup 100 $extra | sed "s/^{/{\"tag\": \"$tag\", /" >> $out
done; done
