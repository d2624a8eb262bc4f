"""Random-matrix-theory features: MP law, window spectra, LES bank, covariance cleaning.

Math lives in functions (``marchenko_pastur``, ``tracy_widom``, ``bank``,
``cleaning``); the sklearn transformers (``EigenSpectra``,
``LinearEigenvalueStatistics``, ``SubjectAggregator``, ``RMTCovariances``,
``BandCovariances``, ``BandTangentSpace``) wrap them, and ``make_*_pipeline`` compose
them into routes ending in a classifier.
"""
from ._inputs import shared_band_scatter
from .aggregation import SUBJECT_STATS, SubjectAggregator, stack_windows
from .band_fft import BandScatter, recording_band_scatter, windows_scatter
from .bank import (DEFAULT_FLOOR, DEFAULT_TEST_FUNCTIONS, TEST_FUNCTIONS, SpectralContext,
                   SpectralFunction, evaluate_test_functions, get_test_function,
                   null_moments, register_test_function)
from .cleaning import (analytic_nonlinear_shrinkage, clip_eigenvalues, clip_spectrum,
                       shrink_spectrum)
from .covariances import BandCovariances, BandTangentSpace, RMTCovariances, clean_correlation
from .inverse_shrinkage import shrink_spectrum_inverse
from .les import LinearEigenvalueStatistics
from .les_tangent import BandSummaries, LESTangentFeatures, make_les_tangent_pipeline
from .nonzero_spectrum import (NONZERO_TEST_FUNCTIONS, NonZeroSpectrumLES,
                               make_les_nonzero_pipeline, nonzero_count, nonzero_null_moments,
                               nonzero_spectrum)
from .marchenko_pastur import (bbp_threshold, marchenko_pastur_cdf, marchenko_pastur_edges,
                               marchenko_pastur_moments, marchenko_pastur_pdf,
                               sample_marchenko_pastur, spike_location, spike_strength)
from .pipelines import (RMT_ROUTE_KINDS, les_subject_features, make_classifier,
                        make_les_pipeline, make_rmt_tangent_pipeline,
                        make_tangent_space_pipeline)
from .band_summary import band_summary
from .plotting import plot_les_distributions, plot_ring_law, plot_spectra_vs_mp
from .relative_spectra import (ClassRelativeSpectra, make_les_relative_pipeline,
                               relative_eigenvalues)
from .spectral_density import SpectralDensity, pool_window_scatter, pooled_window_count
from .spectra import (EigenSpectra, WindowSpectra, effective_sample_size, window_eigenvalues,
                      window_matrices)
from .tracy_widom import (johnstone_scaling, largest_eigenvalue_test, tracy_widom_cdf,
                          tracy_widom_edge, tracy_widom_isf, tracy_widom_sf)

__all__ = [
    # Marchenko-Pastur law and spiked model
    "marchenko_pastur_edges", "marchenko_pastur_pdf", "marchenko_pastur_cdf",
    "marchenko_pastur_moments", "sample_marchenko_pastur", "bbp_threshold",
    "spike_location", "spike_strength",
    # largest eigenvalue
    "tracy_widom_cdf", "tracy_widom_sf", "tracy_widom_isf", "tracy_widom_edge",
    "johnstone_scaling", "largest_eigenvalue_test",
    # window spectra
    "window_matrices", "window_eigenvalues", "effective_sample_size", "WindowSpectra",
    "EigenSpectra",
    # one band representation per recording (window FFTs -> band scatter matrices)
    "BandScatter", "windows_scatter", "recording_band_scatter", "shared_band_scatter",
    # test-function bank and LES
    "TEST_FUNCTIONS", "DEFAULT_TEST_FUNCTIONS", "DEFAULT_FLOOR", "SpectralContext",
    "SpectralFunction", "register_test_function", "get_test_function",
    "evaluate_test_functions", "null_moments", "LinearEigenvalueStatistics",
    # subjects
    "SUBJECT_STATS", "SubjectAggregator", "stack_windows",
    # cleaning and covariance routes
    "clip_spectrum", "clip_eigenvalues", "shrink_spectrum", "analytic_nonlinear_shrinkage",
    "clean_correlation", "RMTCovariances", "BandCovariances", "BandTangentSpace",
    # pipelines
    "make_classifier", "make_les_pipeline", "make_rmt_tangent_pipeline",
    "make_tangent_space_pipeline", "les_subject_features",
    # MP-bounded pooled windows, learned test functions, inverse shrinkage, LES + tangent
    "pooled_window_count", "pool_window_scatter", "SpectralDensity", "shrink_spectrum_inverse",
    "BandSummaries", "LESTangentFeatures",
    "make_les_tangent_pipeline", "relative_eigenvalues", "ClassRelativeSpectra",
    "make_les_relative_pipeline",
    # c > 1: statistics on the non-zero part of the spectrum (dual MP law)
    "NONZERO_TEST_FUNCTIONS", "nonzero_count", "nonzero_spectrum", "nonzero_null_moments",
    "NonZeroSpectrumLES", "make_les_nonzero_pipeline",
    # plots
    "plot_spectra_vs_mp", "plot_les_distributions", "plot_ring_law", "band_summary",
]
