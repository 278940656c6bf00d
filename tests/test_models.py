import pytest
import torch

from genrekit.errors import ParameterError, UnknownModelError
from genrekit.models import create_model, list_models


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("in_channels,num_classes", [(1, 2), (3, 10)])
def test_every_model_shapes_and_backward(name, in_channels, num_classes):
    torch.manual_seed(0)
    kwargs = {"width": 8} if name.startswith("resnet") else {}
    F = 64
    if name.startswith("musicnn"):  # pretrained on one channel of 96 mel bands
        kwargs, F = {"pretrained": None}, 96
        if in_channels != 1:
            with pytest.raises(ParameterError, match="musicnn takes 1 channel"):
                create_model(name, num_classes=num_classes, in_channels=in_channels)
            return
    model = create_model(name, num_classes=num_classes, in_channels=in_channels, **kwargs)
    x = torch.randn(2, in_channels, F, 87, requires_grad=False)
    logits = model(x)
    assert logits.shape == (2, num_classes)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    z = model.forward_features(x)
    assert z.ndim == 2 and z.shape[0] == 2
    torch.testing.assert_close(model.forward_head(z), model(x))
    assert model(torch.randn(1, in_channels, F, 40)).shape == (1, num_classes)


def test_registry_errors():
    assert {"resnet18", "resnet34", "crnn", "cnn", "tiny", "musicnn",
            "musicnn_fusion"} <= set(list_models())
    with pytest.raises(UnknownModelError, match="unknown model 'resnt18'; did you mean "
                                                "'resnet18'"):
        create_model("resnt18", 3, 1)
    with pytest.raises(ParameterError, match="num_classes must be >= 2"):
        create_model("cnn", 1, 1)
    with pytest.raises(ParameterError, match="bad options for model 'cnn'"):
        create_model("cnn", 3, 1, nonsense=3)
    with pytest.raises(ParameterError, match="crnn pooling"):
        create_model("crnn", 3, 1, pooling="max")
