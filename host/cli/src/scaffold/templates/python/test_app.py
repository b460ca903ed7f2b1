"""Unit tests in plain Python: `PYTHONPATH={{sdk}}/python python3 -m unittest`."""

import unittest

from caliper_sdk import ConfigError, Sample

from app import {{Type}}


class {{Type}}Test(unittest.TestCase):
    def test_long_answers_fail(self):
        outcome = {{Type}}({"max_words": 3}).evaluate(Sample(output="one two three four"))
        self.assertEqual(outcome.verdict, "fail")

    def test_a_zero_budget_is_refused(self):
        with self.assertRaises(ConfigError):
            {{Type}}({"max_words": 0})


if __name__ == "__main__":
    unittest.main()
