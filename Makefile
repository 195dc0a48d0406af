# hrseg_plugin: install / demo / test / bench
# `make install` builds .venv/ with the pinned stack; a second run takes seconds
# because the stamp below is newer than everything it depends on.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean-venv

install: $(STAMP)

$(STAMP): Makefile setup.py requirements/pinned.txt requirements/tests.txt \
		requirements/no-deps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q wheel ninja -r requirements/pinned.txt -r requirements/tests.txt
	# mmpose, mmpretrain (and timm, for the tests) without their declared
	# dependencies: those pull chumpy, torchvision and the `modelindex`
	# placeholder, none of which works here; what they really need is in
	# pinned.txt / tests.txt (see requirements/no-deps.txt)
	$(PIP) install -q --no-deps -r requirements/no-deps.txt
	# mmcv 2.1.0 has no wheel for this torch: build it with its compiled ops
	# (nms, RoIAlign, ...) against the torch installed above. Its setup.py
	# imports pkg_resources in a way setuptools >= 70 breaks: build with an
	# old setuptools, then restore the pinned one.
	# pip caches the built wheel, so a reinstall takes seconds.
	$(PY) -c "import mmcv.ops" 2>/dev/null || { \
	  $(PIP) install -q "setuptools<70" && \
	  MMCV_WITH_OPS=1 MAX_JOBS=$$(nproc) $(PIP) install -q --no-build-isolation mmcv==2.1.0 && \
	  $(PIP) install -q $$(grep '^setuptools==' requirements/pinned.txt); }
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import mmcv.ops, mmseg.models, mmdet.models, mmpose.models, mmpretrain, hrseg_plugin; print('install ok')"
	touch $(STAMP)

demo: install
	$(PY) tools/make_demo_data.py --out data/demo
	$(PY) tools/demo.py --work-dir work_dirs/demo

# two worker processes (pytest-xdist), one torch thread each: most of the
# suite's time is tool subprocesses starting up (imports) and small models,
# which two processes overlap on a 2-core machine; one thread each keeps
# them from oversubscribing the cores
test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 tests

# the inner loop: everything but the tests marked slow (training and tool
# subprocesses, stock tools, the big model builds), under 3 minutes on a
# 2-core machine
test-fast: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 -m "not slow" tests

bench: install
	$(PY) tools/benchmark.py configs/hrnet_w18_ocr.py --shape 512 1024 --compare-stock

clean-venv:
	rm -rf $(VENV)
