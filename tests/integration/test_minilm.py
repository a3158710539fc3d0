"""Integration: our BERT with the all-MiniLM-L6-v2 weights equals KerasHub's backbone (chapter 6)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from course_utils import bert, text  # noqa: E402


def test_weights_match_kerashub():
    import keras_hub

    folder = bert.minilm_folder()
    tensors = bert.read_safetensors(folder / "model.safetensors")
    ours = bert.build_bert(**bert.read_config(folder), gelu_approximate=True)
    unused = bert.load_hf_weights(ours, tensors)
    assert unused == ["embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"]
    tokenizer = keras_hub.tokenizers.BertTokenizer.from_preset(str(folder))
    tokens = tokenizer(["an utterly charming film", "a tedious mess"])
    ids = text.pack([np.asarray(t) for t in tokens], 8, 101, 102)
    assert ids[0].tolist() == [101, 2019, 12580, 11951, 2143, 102, 0, 0]
    ref = keras_hub.models.BertBackbone.from_preset(str(folder))
    want = ref({"token_ids": ids, "segment_ids": np.zeros_like(ids),
                "padding_mask": (ids != 0).astype("int32")})["sequence_output"]
    got = ours(ids)
    real = ids != 0
    diff = np.abs(keras.ops.convert_to_numpy(got) - keras.ops.convert_to_numpy(want))[real]
    assert diff.max() < 1e-4
