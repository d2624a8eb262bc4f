"""The skops allow-list: a class is trusted for what it is, never for the path it is reached by.

The crafted files below are real attacks: each test first shows that skops, told to
trust the name, does the harm (writes a file, binds a socket, builds a thread...);
then that loading the same file through a neurodx bundle refuses it before skops
builds anything.
"""
import importlib
import inspect
import threading

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodx.bundles import load_bundle
from neurodx.bundles.trust import (TRUSTED_TYPES, canonical_name, check_loaded, check_skops,
                                   check_trusted, is_trusted, untrusted_reason)
from neurodx.cli import main
from neurodx.errors import BundleError
from neurodx.rmt import RMT_ROUTE_KINDS


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("name", [
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "pyriemann.tangentspace.TangentSpace",
    "neurodx.rmt.les.LinearEigenvalueStatistics",
    "numpy.random._generator.Generator",
    "numpy.ndarray",
])
def test_trusted(name):
    assert is_trusted(name)


def _importable(module):
    """True if ``module`` imports in this environment (only scikit-learn paths are asked)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("name, reason", [
    ("posix.system", "outside neurodx"), ("builtins.eval", "outside neurodx"),
    ("subprocess.Popen", "outside neurodx"),
    ("neurodx_pipeline_brain_ct.Custom", "outside neurodx"),      # a study module's class
    ("sklearn.utils._testing.assert_run_python_script_without_output", "a test helper"),
    ("sklearn.utils._mocking.CheckingClassifier", "a test helper"),
    ("sklearn.conftest.X", "a test helper"),                     # never imported
    ("neurodx.__main__.X", "a special module"),
    ("sklearn.utils.validation.check_array", "not a class"),
    ("sklearn.pipeline.Pipeline.fit", "cannot be imported"),      # a method
    ("neurodx.rmt.les.no_such_thing", "cannot be imported"),
    ("neurodx.models.estimators.SliceVotingClassifier", "a CNN part"),
    ("sklearn.utils._bunch.Bunch", "not a scikit-learn estimator"),
    ("sklearn.tree._tree.Tree", "not a scikit-learn estimator"),
    ("numpy.memmap", "outside neurodx"),
    # re-exports: the class is what counts, not the package path it is reached by
    ("sklearn.linear_model.LogisticRegression",
     "a re-export of sklearn.linear_model._logistic.LogisticRegression"),
    ("sklearn.datasets._covtype.GzipFile", "a re-export of gzip.GzipFile"),
    ("sklearn.externals.array_api_compat.numpy.memmap", "a re-export of numpy.memmap"),
    ("sklearn.externals.array_api_compat.torch.Tensor", "a re-export of torch.Tensor"),
    ("sklearn.datasets._covtype.TemporaryDirectory",
     "a re-export of tempfile.TemporaryDirectory"),
    ("sklearn.datasets._lfw.Memory", "a re-export of joblib.memory.Memory"),
    ("sklearn.callback._progressbar.Thread", "a re-export of threading.Thread"),
    ("sklearn.callback._transport.Listener",
     "a re-export of multiprocessing.connection.Listener"),
])
def test_untrusted(name, reason):
    module = name.rpartition(".")[0]
    if reason.startswith("a re-export of") and not _importable(module):
        # This scikit-learn has no such module (1.6 has neither array_api_compat
        # nor sklearn.callback): the crafted name is refused all the same.
        reason = "cannot be imported"
    assert untrusted_reason(name).startswith(reason)
    assert not is_trusted(name)


def test_check_trusted_names_the_refused_types_and_why():
    with pytest.raises(BundleError, match=r"m/estimator.skops: refusing to load: 1 type\(s\) "
                                          r"outside the trusted list: posix.system \(outside"):
        check_trusted(["sklearn.pipeline.Pipeline", "posix.system"], "m/estimator.skops")


def test_the_explicit_list_holds_canonical_classes_only():
    for name in TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        assert inspect.isclass(obj) and canonical_name(obj) == name


def test_what_skops_trusts_by_itself_cannot_be_a_re_export():
    # skops compares names as strings, so its defaults are safe only if each default
    # name is the class it names (or, for bit generators, a numpy bit generator).
    from skops.io import _trusted_types as defaults

    # Each list the installed skops trusts by default (skops 0.13 has only the
    # estimators; the internal types and bit generators came later).
    classes = (defaults.SKLEARN_ESTIMATOR_TYPE_NAMES
               + getattr(defaults, "SKLEARN_INTERNAL_TYPE_NAMES", []))
    assert len(classes) > 100, "skops trusts scikit-learn's estimators by default"
    for name in classes:
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        assert inspect.isclass(obj) and canonical_name(obj) == name, name
    for name in getattr(defaults, "NUMPY_RANDOM_BIT_GENERATOR_TYPE_NAMES", []):
        obj = getattr(np.random, name.rpartition(".")[2])
        assert issubclass(obj, np.random.BitGenerator), name


# ----------------------------------------------------------------------------- our routes
@pytest.mark.parametrize("kind", sorted(RMT_ROUTE_KINDS))
@pytest.mark.parametrize("classifier", ["svc", "logreg"])
def test_every_route_kind_stores_only_trusted_types(kind, classifier):
    # The allow-list is checked against what the shipped route kinds really store
    # (bundles hold the whole pipeline: stateless prefix and fitted steps).
    factory, _ = RMT_ROUTE_KINDS[kind]
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((6, 120)) for _ in range(6)]
    route = factory(bands={"broadband": None}, sfreq=1.0, window=40, classifier=classifier)
    route.fit(X, ["a", "b", "c"] * 2)
    data = sio.dumps(route)
    trusted = check_skops(data, kind)
    assert trusted, "each route stores at least one neurodx or pyRiemann class"
    loaded = sio.loads(data, trusted=trusted)
    check_loaded(loaded, kind)
    np.testing.assert_array_equal(loaded.predict(X), route.predict(X))


# ----------------------------------------------------------------------------- attacks
@pytest.fixture
def threads_built(monkeypatch):
    """Names of the threading.Thread objects constructed during the test."""
    built, init = [], threading.Thread.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        built.append(self.name)

    monkeypatch.setattr(threading.Thread, "__init__", recording_init)
    return built


def _case(name, tmp_path, threads_built):
    """(module, class, args, harm_done(), cleanup(obj)) of one reported bypass."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    spool = tmp_path / "spool"
    spool.mkdir()
    closing = lambda obj: obj.close()    # noqa: E731
    cases = {
        "gzip": ("sklearn.datasets._covtype", "GzipFile", (str(victim), "wb"),
                 lambda: victim.read_bytes() != b"precious", closing),
        "memmap": ("sklearn.externals.array_api_compat.numpy", "memmap",
                   (str(spool / "map.bin"), "uint8", "w+", 0, (16,)),
                   lambda: (spool / "map.bin").exists(), lambda obj: obj._mmap.close()),
        "torch": ("sklearn.externals.array_api_compat.torch", "Tensor", (),
                  lambda: False, lambda obj: None),
        "tempfile": ("sklearn.datasets._covtype", "TemporaryDirectory",
                     (None, "crafted-", str(spool)), lambda: any(spool.iterdir()),
                     lambda obj: obj.cleanup()),
        "joblib_memory": ("sklearn.datasets._lfw", "Memory", (str(spool / "cache"),),
                          lambda: (spool / "cache").exists(), lambda obj: None),
        "thread": ("sklearn.callback._progressbar", "Thread",
                   (None, None, "crafted-thread"),
                   lambda: "crafted-thread" in threads_built, lambda obj: None),
        "listener": ("sklearn.callback._transport", "Listener",
                     (str(spool / "s.sock"), "AF_UNIX"),
                     lambda: (spool / "s.sock").exists(), closing),
    }
    module, cls, args, harmed, cleanup = cases[name]
    try:
        importlib.import_module(module)
    except ImportError:
        pytest.skip(f"this environment has no {module}")
    return module, cls, args, harmed, cleanup


BYPASSES = ["gzip", "memmap", "torch", "tempfile", "joblib_memory", "thread", "listener"]


@pytest.mark.parametrize("name", BYPASSES)
def test_a_crafted_file_really_does_harm_when_skops_trusts_it(name, tmp_path, threads_built,
                                                              craft):
    module, cls, args, harmed, cleanup = _case(name, tmp_path, threads_built)
    data = craft(module, cls, args)
    assert sio.get_untrusted_types(data=data) == [f"{module}.{cls}"]
    obj = sio.loads(data, trusted=[f"{module}.{cls}"])
    try:
        assert type(obj).__name__ == cls and (harmed() or name == "torch")
    finally:
        cleanup(obj)


@pytest.mark.parametrize("name", BYPASSES)
def test_a_bundle_with_a_re_exported_foreign_class_is_refused_before_anything_is_built(
        name, bundle_copy, forge, craft, tmp_path, threads_built, monkeypatch):
    module, cls, args, harmed, _ = _case(name, tmp_path, threads_built)
    forge(bundle_copy, craft(module, cls, args))
    built = []
    monkeypatch.setattr(sio, "loads", lambda *a, **k: built.append(a) or pytest.fail("built"))
    with pytest.raises(BundleError, match=rf"refusing to load: 1 type\(s\) .*{module}\.{cls} "
                                          r"\(a re-export of "):
        load_bundle(bundle_copy)
    assert not built and not harmed()


def test_neurodx_score_refuses_the_gzip_bundle_and_leaves_the_file_alone(
        bundle_copy, forge, craft, tmp_path, small_eeg_cohort, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    forge(bundle_copy, craft("sklearn.datasets._covtype", "GzipFile", (str(victim), "wb")))
    code = main(["score", str(bundle_copy), str(small_eeg_cohort), "--out",
                 str(tmp_path / "scores.csv"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and victim.read_text() == "precious"
    assert not (tmp_path / "scores.csv").exists()
    assert len(err.strip().splitlines()) == 1 and "a re-export of gzip.GzipFile" in err


def test_functions_are_never_trusted_not_even_numpy_ufuncs(bundle_copy, forge):
    # skops trusts numpy ufuncs by default; a bundle never needs a function.
    forge(bundle_copy, sio.dumps(Pipeline([("f", FunctionTransformer(np.exp)),
                                           ("g", FunctionTransformer())])))
    # The path skops writes for a ufunc depends on the numpy version (numpy 2.0:
    # numpy._core._multiarray_umath.exp; later: numpy.exp); either is refused.
    with pytest.raises(BundleError,
                       match=r"numpy\.([\w.]+\.)?exp \(a function: never trusted\)"):
        load_bundle(bundle_copy)


def test_an_unreadable_skops_file_is_a_bundle_error(bundle_copy, forge):
    forge(bundle_copy, b"PK\x03\x04 not a zip")
    with pytest.raises(BundleError, match="not a readable skops file"):
        load_bundle(bundle_copy)


def test_a_pipeline_caching_to_a_folder_is_refused(bundle_copy, forge, tmp_path,
                                                   small_eeg_cohort, capsys):
    # `memory` is a plain string in the file (trusted), but scoring fits the route's
    # stateless steps, and joblib would then cache (pickle) to, and unpickle from, it.
    cache = tmp_path / "cache"
    route = load_bundle(bundle_copy).route.estimator
    route.set_params(memory=str(cache))
    forge(bundle_copy, sio.dumps(route))
    with pytest.raises(BundleError, match="memory is set"):
        load_bundle(bundle_copy)
    assert main(["score", str(bundle_copy), str(small_eeg_cohort), "--out",
                 str(tmp_path / "scores.csv"), "--no-progress"]) == 2
    assert not cache.exists()
    assert "memory is set" in capsys.readouterr().err


def test_check_loaded_accepts_estimators_without_memory():
    check_loaded(Pipeline([("f", FunctionTransformer())]), "x")
    with pytest.raises(BundleError, match="f__memory"):
        check_loaded(Pipeline([("f", Pipeline([("g", FunctionTransformer())],
                                              memory="somewhere"))]), "x")

