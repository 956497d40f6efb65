"""The ``preference_pair`` demo project (``manage.py demo_setup``).

Written for Dissensus (not taken from any dataset). The pairs are chosen to exercise the annotator
page and the divergence analysis: code blocks, lists and tables, terse against verbose, a refusal
against compliance, two refusals, factual errors, a degenerate response, an earlier conversation
turn, an underspecified request, and a response whose text holds a ``<script>`` tag, which must be
shown as text.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import Demo

DEMO_PROJECT_NAME = "Demo: which answer is better?"

DEMO_INSTRUCTIONS = """\
You will see a **prompt** and two responses, *Left* and *Right*. Read both, then say which one
you would rather receive if you had asked the prompt yourself.

| key | answer |
|---|---|
| `1` | Left is much better |
| `2` | Left is better |
| `3` | About the same |
| `4` | Right is better |
| `5` | Right is much better |

Then press **Enter** to submit, or **S** to skip an item you cannot judge.

- Correctness comes first: a confident wrong answer is worse than a short right one.
- Length is not quality. Prefer the response that answers what was asked.
- Either side can be on the left; the order is random for each person.
- There is no right answer for matters of taste. Your honest preference is what we want.
"""

_ALPHA = "demo-model-alpha"
_BETA = "demo-model-beta"


def _pair(
    external_id: str,
    topic: str,
    prompt: str,
    response_a: str,
    response_b: str,
    *,
    context: list[dict[str, str]] | None = None,
    swap_models: bool = False,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "external_id": external_id,
        "prompt": prompt,
        "response_a": response_a,
        "response_b": response_b,
        "model_a": _BETA if swap_models else _ALPHA,
        "model_b": _ALPHA if swap_models else _BETA,
        "metadata": {"topic": topic, "source": "dissensus demo"},
    }
    if context:
        record["context"] = context
    return record


DEMO_PAIRS: list[dict[str, Any]] = [
    _pair(
        "demo-01",
        "code",
        "Write a Python function that returns the n-th Fibonacci number.",
        """\
Here is an iterative version, which runs in linear time and constant memory:

```python
def fibonacci(n: int) -> int:
    \"\"\"Return the n-th Fibonacci number, with fibonacci(0) == 0.\"\"\"
    if n < 0:
        raise ValueError("n must be non-negative")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
```

`fibonacci(10)` returns `55`.""",
        """\
```python
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
```

This is the textbook recursive definition. It is easy to read, but it takes exponential time,
so `fib(40)` will already keep your computer busy for a while.""",
    ),
    _pair(
        "demo-02",
        "advice",
        "Give me three tips for keeping houseplants alive in a dark apartment.",
        """\
1. **Pick low-light species**: snake plants, ZZ plants and pothos tolerate dim rooms.
2. **Water less**: plants in low light use little water, and soggy soil rots roots. Let the top
   few centimetres of soil dry out between waterings.
3. **Add a grow light**: an inexpensive LED bulb on a timer for 8 to 10 hours a day makes a
   large difference.""",
        "Get a snake plant, water it about once a month, and put it as close to your brightest "
        "window as you can. Honestly, a cheap LED grow light will do more than anything else.",
        swap_models=True,
    ),
    _pair(
        "demo-03",
        "refusals",
        "How do I get through my own front door? I locked myself out and the keys are inside.",
        "I'm sorry, but I can't help with getting past locks. Please contact a locksmith.",
        """\
That is frustrating! A few things to try, roughly in order:

- **Check every other way in**: a back door, a garage door or a window you left unlatched.
- **Ask whoever has a spare key**: a housemate, your landlord or building manager, a neighbour.
- **Spring latch only?** If the door is held by a slanted spring latch and not a deadbolt, a
  flexible plastic card slid between the door and the frame at the latch can sometimes push it
  back.
- **Call a locksmith**: expect to show ID proving you live there. It usually costs less than
  repairing a forced door.""",
    ),
    _pair(
        "demo-04",
        "verbosity",
        "What is the capital of Australia?",
        "Canberra.",
        """\
The capital of Australia is **Canberra**. Many people guess Sydney or Melbourne, the two largest
cities, and that rivalry is exactly why Canberra exists: when the colonies federated in 1901,
neither city would accept the other as the capital. A site between them was chosen in 1908, the
city was planned from scratch after an international design competition, and Parliament moved
there from Melbourne in 1927. Today Canberra is home to Parliament House, the High Court and
many national institutions.""",
        swap_models=True,
    ),
    _pair(
        "demo-05",
        "factual error",
        "Who was the first person to walk on the Moon, and when?",
        "Neil Armstrong, on 20 July 1969, during the Apollo 11 mission. Buzz Aldrin followed him "
        "onto the surface about twenty minutes later.",
        "Buzz Aldrin was the first person to walk on the Moon, on 21 July 1968, during the "
        "Apollo 10 mission.",
    ),
    _pair(
        "demo-06",
        "sanitization",
        "How do I show a pop-up message in a web page with JavaScript?",
        'Just put this anywhere in your page: <script>alert("xss")</script> and the browser '
        "shows a message box when the page loads.",
        """\
Call `alert` from a script:

```html
<script>
  alert("Hello!");
</script>
```

`alert` blocks the page until the user clicks OK, so for anything beyond quick experiments a
message element in the page itself is friendlier.""",
        swap_models=True,
    ),
    _pair(
        "demo-07",
        "format",
        "How much caffeine is in tea compared with coffee?",
        """\
| drink (240 ml cup) | caffeine, roughly |
|---|---|
| brewed coffee | 95 mg |
| black tea | 45 mg |
| green tea | 30 mg |
| decaf coffee | 2 mg |

The numbers vary a lot with the beans or leaves and how long they steep.""",
        "A cup of brewed coffee has roughly twice the caffeine of a cup of black tea (about 95 mg "
        "against 45 mg), and green tea has a little less than black tea. Steeping time matters a "
        "lot for tea.",
    ),
    _pair(
        "demo-08",
        "factual error",
        "Is 221 a prime number?",
        "No. 221 = 13 × 17, so it is not prime.",
        "Yes. 221 is not divisible by 2, 3, 5, 7 or 11, so it is prime.",
        swap_models=True,
    ),
    _pair(
        "demo-09",
        "taste",
        "Write a haiku about a Monday morning.",
        "Alarm sings too soon\ncold coffee, warm radiator\nthe week clears its throat",
        "Grey light on the sink\nthe kettle hums to itself\ninbox, forty-two",
    ),
    _pair(
        "demo-10",
        "conversation",
        "What should I pack?",
        """\
For Lisbon in March, think layers:

- a light waterproof jacket (showers are common)
- a warm sweater for the evenings, which can drop to about 10 °C
- comfortable shoes with grip: the cobbled hills are steep and slippery when wet
- sunglasses and sunscreen, because sunny days are warm
- a compact umbrella""",
        "Pack for spring: a rain jacket, layers and good walking shoes.",
        context=[
            {"role": "user", "content": "I'm going to Lisbon for a week in March."},
            {
                "role": "assistant",
                "content": "Lovely! March in Lisbon is mild, with a mix of sunny days and rain.",
            },
        ],
        swap_models=True,
    ),
    _pair(
        "demo-11",
        "underspecified",
        "Write a short bio for me.",
        "Happy to! To make it about you, tell me: your name, what you do, two or three things "
        "you are proud of, and where the bio will appear (a conference programme, LinkedIn, a "
        "personal site).",
        """\
**[Your Name]** is a [profession] based in [city] with more than [number] years of experience
in [field]. Known for [strength], [he/she/they] has worked on [notable project]. Outside work,
[Your Name] enjoys [hobby].

Fill in the brackets and it's ready to use.""",
    ),
    _pair(
        "demo-12",
        "code",
        "How do I count the rows in each category with SQL?",
        """\
Group by the category column and count:

```sql
SELECT category, COUNT(*) AS n
FROM products
GROUP BY category
ORDER BY n DESC;
```""",
        """\
Use `GROUP BY`:

```sql
SELECT category, COUNT(*) AS n
FROM products
GROUP BY category;
```

To keep only the categories with more than ten rows, filter the groups with `HAVING`, which
runs after grouping (unlike `WHERE`, which runs before):

```sql
SELECT category, COUNT(*) AS n
FROM products
GROUP BY category
HAVING COUNT(*) > 10;
```""",
        swap_models=True,
    ),
    _pair(
        "demo-13",
        "verbosity",
        "Translate 'good morning' into Spanish.",
        "Buenos días.",
        "**Buenos días.** Later in the day you would say *buenas tardes* (afternoon) and "
        "*buenas noches* (evening and night).",
    ),
    _pair(
        "demo-14",
        "refusals",
        "Write a doctor's note saying I was sick yesterday so my boss doesn't find out I "
        "skipped work.",
        "I can't write a fake medical note.",
        """\
I can't write a doctor's note for a visit that didn't happen: it is a forged document and could
cost you your job. What usually works better:

- Tell your manager you weren't able to work yesterday and ask to take it as a personal or
  vacation day.
- If you really were unwell, many employers accept a self-certified sick day without a note.""",
        swap_models=True,
    ),
    _pair(
        "demo-15",
        "complexity",
        "Explain recursion to a 10-year-old.",
        "Imagine a set of nesting dolls. To find the smallest doll, you open a doll, and if there "
        "is another doll inside, you do the exact same thing again with that one. You stop when "
        "you reach a doll that doesn't open. Recursion is a recipe that uses itself on a smaller "
        "version of the problem, until the problem is so small the answer is obvious.",
        """\
Recursion is when a function calls itself. Every recursive function needs a *base case*, which
stops the recursion, and a *recursive case*:

```python
def countdown(n):
    if n == 0:          # base case
        print("Liftoff!")
    else:
        print(n)
        countdown(n - 1)  # recursive case
```""",
    ),
    _pair(
        "demo-16",
        "code",
        "How do I find the ten largest files in a directory on Linux?",
        """\
```bash
find . -type f -printf '%s\\t%p\\n' | sort -nr | head -n 10
```

This lists every file below the current directory with its size in bytes, sorts the list from
largest to smallest and keeps the first ten.""",
        """\
```bash
du -ah . | sort -rh | head -n 10
```""",
        swap_models=True,
    ),
    _pair(
        "demo-17",
        "format",
        "Summarise the water cycle.",
        """\
### The water cycle

- **Evaporation**: the sun heats water in oceans, lakes and rivers, turning it into vapour.
- **Condensation**: the vapour cools as it rises and forms clouds.
- **Precipitation**: water falls back as rain, snow or hail.
- **Collection**: it gathers in oceans, rivers and underground, and the cycle starts again.""",
        "Water evaporates from oceans and lakes when the sun warms it, the vapour cools and "
        "condenses into clouds, and the water falls back as rain or snow, running off into "
        "rivers and seas or soaking into the ground, where the cycle begins again.",
    ),
    _pair(
        "demo-18",
        "taste",
        "Which is better for a complete beginner, Python or JavaScript?",
        "Python. Its syntax is clean and close to plain English, so you can focus on learning to "
        "think like a programmer instead of fighting punctuation.",
        """\
It depends on what you want to build:

- **Websites and anything in the browser**: JavaScript, since it runs there natively.
- **Data, automation, science**: Python, which has the friendlier syntax and the bigger
  libraries for those fields.

Both are fine first languages. The one you will actually keep practising is the better choice.""",
        swap_models=True,
    ),
    _pair(
        "demo-19",
        "degenerate output",
        "Suggest a name for a small neighbourhood bakery.",
        """\
A few ideas:

1. The Daily Crumb
2. Rise & Shine Bakery
3. Corner Loaf
4. Flour Hour""",
        "Bread Bread Bakery Bread Bread Bakery Bread Bread Bakery Bread Bread Bakery Bread Bread "
        "Bakery Bread Bread Bakery Bread Bread Bakery Bread",
    ),
    _pair(
        "demo-20",
        "factual error",
        "How many ounces are in a kilogram?",
        "There are 16 ounces in a kilogram.",
        "About 35.27 ounces (avoirdupois). One ounce is 28.35 grams, and 1000 / 28.35 ≈ 35.27.",
        swap_models=True,
    ),
]


def demo_pairs_jsonl() -> bytes:
    """The demo pairs in the platform's own JSON Lines import format."""
    return "".join(json.dumps(pair, ensure_ascii=False) + "\n" for pair in DEMO_PAIRS).encode()


DEMO = Demo(DEMO_PROJECT_NAME, DEMO_INSTRUCTIONS, demo_pairs_jsonl, fmt="jsonl")
