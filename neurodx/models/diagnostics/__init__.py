"""Random-matrix diagnostics of trained networks: layer weight spectra and loss curvature.

Weights (:mod:`.weights`)
    :func:`weight_spectra` (any torch module): per dense/convolutional layer, the
    ESD of its weight matrices, an MP fit with its bulk edge and spikes, and the
    power-law tail exponent ``alpha`` (:func:`fit_power_law`, CSN 2009).
Curvature (:mod:`.hessian`)
    :func:`hessian_spectrum`: top Hessian eigenvalues by Lanczos and the spectral
    density by stochastic Lanczos quadrature, from Hessian-vector products, within
    a time budget.
Fitted estimators (:mod:`.network`)
    :func:`network_diagnostics` is what ``diagnostics=True`` stores in a CNN
    estimator's ``diagnostics_``; :func:`summarize_diagnostics` its compact form.
"""
from .hessian import hessian_spectrum, hessian_vector_product, lanczos, slq_density
from .network import (DEFAULT_OPTIONS, network_diagnostics, network_members,
                      summarize_diagnostics)
from .powerlaw import fit_power_law
from .weights import (fit_marchenko_pastur, layer_matrices, layer_spectrum, weight_esd,
                      weight_spectra)

__all__ = ["weight_spectra", "layer_spectrum", "layer_matrices", "weight_esd",
           "fit_marchenko_pastur", "fit_power_law", "hessian_spectrum",
           "hessian_vector_product", "lanczos", "slq_density", "network_diagnostics",
           "network_members", "summarize_diagnostics", "DEFAULT_OPTIONS"]
