# Jug's demo (`jug demo`), for jug-host's Python SDK: build it with `jug-py build primes.py`,
# then `jug-host execute primes.wasm`. The differences from Jug's primes.py: no sleep(1.) in
# is_prime, and write_output returns its sentence instead of writing output.txt (a task has no
# file system to write to; `jug-host value primes.wasm write_output` prints it).
from jug import TaskGenerator


@TaskGenerator
def is_prime(n):
    for j in range(2, n - 1):
        if (n % j) == 0:
            return False
    return True


@TaskGenerator
def count_primes(ps):
    return sum(ps)


@TaskGenerator
def write_output(n):
    return "Found {0} primes <= 100.\n".format(n)


primes100 = [is_prime(n) for n in range(2, 101)]
n_primes = count_primes(primes100)
write_output(n_primes)
