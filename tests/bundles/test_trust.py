"""The skops type allow-list: classes from neurodx / scikit-learn / pyRiemann, a few numpy types."""
import pytest

from neurodx.bundles.trust import check_trusted, is_trusted
from neurodx.errors import BundleError


@pytest.mark.parametrize("name", [
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "pyriemann.tangentspace.TangentSpace",
    "neurodx.rmt.les.LinearEigenvalueStatistics",
    "numpy.random._generator.Generator",
])
def test_trusted(name):
    assert is_trusted(name)


@pytest.mark.parametrize("name", [
    "posix.system", "builtins.eval", "subprocess.Popen",
    "neurodx_pipeline_brain_ct.Custom",          # a study module's class
    "sklearn.utils._testing.assert_run_python_script_without_output",   # test helper
    "sklearn.utils.validation.check_array",      # a function, not a class
    "neurodx.rmt.les.no_such_thing",
])
def test_untrusted(name):
    assert not is_trusted(name)


def test_check_trusted_names_the_refused_types():
    with pytest.raises(BundleError, match=r"1 type\(s\) outside the trusted list \(posix.system\)"):
        check_trusted(["sklearn.pipeline.Pipeline", "posix.system"], "m/estimator.skops")
