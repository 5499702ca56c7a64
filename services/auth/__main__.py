from kit.service import run
from services.auth.app import spec

if __name__ == "__main__":
    run(spec())
