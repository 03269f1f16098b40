# Sourced by the GPU scripts, from the repository root: the packages the GPU image lacks
# (gymnasium, stable-baselines3, tyro) installed from the wheels in .whl/ (carried with the call),
# and the repository on PYTHONPATH.
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
