"""Deploying a classifier (chapter 3): one checked image in, ``(class, probabilities)`` out."""
import numpy as np


def predict_image(model, image, class_names=None):
    """Classify one image with a model that outputs logits: ``(label, probabilities)``.

    The label is a class name if ``class_names`` is given, else the class index.

    ``image`` must have the model's input shape (H, W, C), or (H, W) when C is 1; uint8 pixels
    0–255 are scaled to [0, 1]; float pixels must already be in [0, 1]. Anything else → ValueError.
    """
    image = np.asarray(image)
    want = tuple(model.input_shape[1:])
    if image.ndim == 2 and want[-1] == 1:
        image = image[..., None]
    if image.shape != want:
        raise ValueError(f"expected one image of shape {want} (or {want[:2]} for grayscale), "
                         f"got {image.shape}")
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ValueError("image contains NaN or infinite values")
        if image.min() < 0 or image.max() > 1:
            raise ValueError("float pixels must be in [0, 1], got range "
                             f"[{image.min():.3g}, {image.max():.3g}]"
                             " (divide uint8 images by 255, or pass them as uint8)")
        image = image.astype(np.float32)
    else:
        raise ValueError(f"image dtype must be uint8 or float, got {image.dtype}")
    logits = np.asarray(model(image[None], training=False))[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    k = int(np.argmax(probs))
    return (class_names[k] if class_names is not None else k), probs
