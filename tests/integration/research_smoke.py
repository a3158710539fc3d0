"""Run research scripts' smoke runs one after another in one process that imports TensorFlow once
(``tests/integration/test_research.py`` starts two of these at a time; not collected by pytest).

    python tests/integration/research_smoke.py JOBS.json

``JOBS.json`` is a list of
``{"script": "research/x.py", "args": [...], "build_dir": ..., "out": ..., "err": ...}``. Each script runs as
``python research/x.py ARGS`` would run it, as ``__main__`` with its own ``sys.argv``, its folder first on
``sys.path`` and its own ``COURSE_BUILD_DIR``; its standard output and error (the C++ logs too) go to
``out`` and ``err``. A fresh process per script would import TensorFlow, Keras and KerasHub again each time
(about 5 s); between scripts the driver only clears Keras' session and closes figures. Writes
``{script: {"returncode": ..., "seconds": ...}}`` to ``JOBS.json.done``.
"""
import json
import os
import runpy
import sys
import time
import traceback
from pathlib import Path


def run_script(script, args, out, err):
    """Run ``script`` as ``__main__`` with ``args``, its output in the files ``out`` and ``err``; return its
    exit status (1 for an exception, printed to ``err``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    argv, path0 = sys.argv, sys.path[0]
    code = 0
    with open(out, "w") as out_file, open(err, "w") as err_file:
        os.dup2(out_file.fileno(), 1)
        os.dup2(err_file.fileno(), 2)
        sys.argv, sys.path[0] = [script, *args], str(Path(script).resolve().parent)
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:   # any other failure of the script: exit status 1
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.argv, sys.path[0] = argv, path0
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
    return code


def main(jobs_path):
    from course_utils.startup import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras
    import keras_hub  # noqa: F401 (imported once for the scripts that use it)
    import matplotlib.pyplot as plt

    done = {}
    for job in json.loads(Path(jobs_path).read_text()):
        os.environ["COURSE_BUILD_DIR"] = job["build_dir"]
        t0 = time.perf_counter()
        code = run_script(job["script"], job["args"], job["out"], job["err"])
        done[Path(job["script"]).name] = {"returncode": code, "seconds": time.perf_counter() - t0}
        keras.utils.clear_session()
        plt.close("all")
    Path(f"{jobs_path}.done").write_text(json.dumps(done))


if __name__ == "__main__":
    main(sys.argv[1])
