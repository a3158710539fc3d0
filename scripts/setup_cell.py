# Setup: the same first cell in every chapter. In Colab it first installs the course (about a minute).
import importlib.util, os, sys
if "google.colab" in sys.modules and importlib.util.find_spec("course_utils") is None:
    COURSE_REPO = os.environ.get("COURSE_REPO", "@REPO_URL@")
    COURSE_HOME = os.environ.get("COURSE_HOME", "/content/course")
    ![ -d {COURSE_HOME} ] || git clone -q --depth 1 {COURSE_REPO} {COURSE_HOME}
    !{sys.executable} {COURSE_HOME}/scripts/colab_install.py
    import site; site.addsitedir(site.getsitepackages()[0])  # pick up the fresh install without a restart
import course_utils as cu
MODE = cu.setup()
