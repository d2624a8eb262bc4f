"""The field's standard networks as neurodx networks, trained by neurodx's engine.

They sit beside neurodx's own networks in the same comparison (same folds, same
training engine, same voting and vote calibration), so a CNN figure can be read
against the field's baselines:

* :class:`BraindecodeNetwork` -- braindecode's EEG networks (``ShallowFBCSPNet``,
  ``EEGNet``, ``Deep4Net``) on EEG windows; needs the optional ``braindecode``
  extra (``pip install 'neurodx[braindecode]'``).
* :class:`ResNet18` -- torchvision's ResNet-18 architecture for slices, trained from
  scratch (no downloaded weights).
* :class:`PlainCNN` -- a tutorial-size plain 2-D CNN for slices.

An estimator selects one with ``architecture`` (``WindowVotingClassifier(architecture=
"braindecode:ShallowFBCSPNet")``, ``SliceVotingClassifier(architecture="resnet18")``).
"""
from .braindecode_net import BRAINDECODE_MODELS, BraindecodeNetwork, braindecode_available
from .plain_cnn import PlainCNN
from .resnet18 import ResNet18

__all__ = ["BraindecodeNetwork", "BRAINDECODE_MODELS", "braindecode_available", "ResNet18",
           "PlainCNN"]
