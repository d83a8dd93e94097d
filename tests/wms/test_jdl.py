"""JDL parsing, serialization, parametric expansion and error positions."""

from __future__ import annotations

import pytest

from dirac_core.jdl import JDL, Expr, JDLError

FULL = """[
    Executable = "run.sh";   # the payload
    Arguments = "-n %n -p %s";
    InputSandbox = {"run.sh", "SB:ProductionSandboxSE|/egi/egi_user/alice/abc.tar"};
    OutputSandbox = {"std.out", "std.err"};
    Site = {"EGI.CYFRONET.pl", "EGI.IN2P3.fr"};
    Platform = "EL9";
    Tags = {"GPU"};
    CPUTime = 3600;
    Priority = 5;
    JobName = "sweep";
    Parameters = 4;
    ParameterStart = 1;
    ParameterStep = 2;
    ParameterFactor = 2;
    Requirements = other.Site == "x" && true;
]"""


def test_parse_types_and_round_trip() -> None:
    jdl = JDL.parse(FULL)
    assert jdl.get("Executable") == "run.sh"
    assert jdl.get("InputSandbox") == ["run.sh", "SB:ProductionSandboxSE|/egi/egi_user/alice/abc.tar"]
    assert jdl.get("CPUTime") == 3600
    assert jdl.get("Requirements") == Expr('other.Site == "x" && true')
    assert jdl.get_list("Site") == ["EGI.CYFRONET.pl", "EGI.IN2P3.fr"]
    again = JDL.parse(jdl.to_text())
    assert again.attributes == jdl.attributes


def test_strings_with_quotes_and_brackets_round_trip() -> None:
    jdl = JDL({"Arguments": 'say "hi" ; [x] {y}', "Executable": "a\\b"})
    assert JDL.parse(jdl.to_text()).attributes == jdl.attributes


def test_brackets_are_optional() -> None:
    assert JDL.parse('Executable = "a"; CPUTime = 5').get("CPUTime") == 5


def test_parametric_numeric_sequence_like_dirac() -> None:
    jobs = JDL.parse(FULL).expand_parametric(20)
    # DIRAC: p0 = start, p(i) = p(i-1) * factor + step
    assert [job.get("Parameter") for job in jobs] == ["1", "4", "10", "22"]
    assert [job.get("Arguments") for job in jobs] == ["-n 0 -p 1", "-n 1 -p 4", "-n 2 -p 10", "-n 3 -p 22"]
    assert [job.get("ParameterNumber") for job in jobs] == [0, 1, 2, 3]
    assert all("Parameters" not in job and "ParameterStep" not in job for job in jobs)


def test_parametric_lists_and_named_sequences() -> None:
    jdl = JDL.parse('[Executable="x"; Parameters = {"a","b"}; Parameters.B = {1, 2}; Arguments = "%s-%(B)s";]')
    jobs = jdl.expand_parametric(20)
    assert [job.get("Arguments") for job in jobs] == ["a-1", "b-2"]
    assert [job.get("Parameter.B") for job in jobs] == ["1", "2"]


def test_parametric_substitutes_into_numbers() -> None:
    jobs = JDL.parse('[Executable="x"; Parameters = {600, 1200}; CPUTime = %s;]').expand_parametric(20)
    assert [job.get("CPUTime") for job in jobs] == [600, 1200]


def test_parametric_padding_of_n() -> None:
    jobs = JDL.parse('[Executable="x"; Parameters = 12; OutputData = "out_%n.txt";]').expand_parametric(20)
    assert jobs[0].get("OutputData") == "out_00.txt" and jobs[11].get("OutputData") == "out_11.txt"


def test_parametric_limit_and_inconsistent_lengths() -> None:
    with pytest.raises(JDLError, match="above the limit of 20"):
        JDL.parse('[Executable="x"; Parameters = 21;]').expand_parametric(20)
    with pytest.raises(JDLError, match="differ in length"):
        JDL.parse('[Executable="x"; Parameters = 3; Parameters.B = {1, 2};]').expand_parametric(20)
    with pytest.raises(JDLError, match="illegal number"):
        JDL.parse('[Executable="x"; Parameters = 0;]').expand_parametric(20)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (
            '[\n  Executable = "a"\n  Arguments = "b";\n]',
            "line 2, column 19",
            "missing ';' after the value of Executable",
        ),
        ('[\n  Executable = "a;\n]', "line 2, column 16", "unterminated string"),
        ("[\n  Executable = ;\n]", "line 2, column 16", "missing value for Executable"),
        ('[\n  InputSandbox = {"a", ;\n]', "line 2, column 18", "list of InputSandbox is not closed"),
        ('[\n  Executable = "a";\n', "line 1, column 1", "missing closing ']'"),
        ("[\n  CPUTime = 1;\n  cputime = 2;\n]", "line 3, column 3", "set twice"),
        ("[\n  1A = 2;\n]", "line 2, column 3", "expected an attribute name"),
        ('[\n  Executable "a";\n]', "line 2, column 14", "expected '=' after attribute Executable"),
        ("[\n  InputSandbox = {a b};\n]", "line 2, column 21", "expected ',' or '}' in the list of InputSandbox"),
        ("[\n  InputSandbox = {a, {b}};\n]", "line 2, column 22", "strings, numbers and bare words only"),
        ("[\n  OutputSandbox = {std.out\n  StdError = std.err;\n]", "line 3, column 3", "expected ',' or '}'"),
    ],
)
def test_errors_name_line_and_column(text: str, where: str, what: str) -> None:
    with pytest.raises(JDLError) as err:
        JDL.parse(text)
    assert where in str(err.value)
    assert what in str(err.value)


def test_typed_getters_complain_clearly() -> None:
    jdl = JDL.parse('[CPUTime = "lots"; Site = {"a", "b"};]')
    with pytest.raises(JDLError, match="CPUTime"):
        jdl.get_int("CPUTime", 1)
    with pytest.raises(JDLError, match="single value"):
        jdl.get_str("Site")


# What DIRAC 9.1's Job()._toJDL() writes (setName, setExecutable, setCPUTime, setTag, setInputData).
DIRAC_WRITER_JDL = """
    Arguments = "jobDescription.xml -o LogLevel=INFO";
    CPUTime = 3600;
    Executable = "dirac-jobexec";
    InputData = LFN:/dirac/user/a/alice/in.txt;
    InputSandbox =
        {
            /bin/echo,
            jobDescription.xml,
            "SB:ProductionSandboxSE|/SandBox/a/alice/x.tar.bz2"
        };
    JobName = compat-raw;
    JobType = User;
    OutputSandbox =
        {
            Script1_echo.log,
            std.err,
            std.out
        };
    Priority = 1;
    Tags =
        {
            MultiProcessor,
            GPU
        };
"""


def test_dirac_writer_dialect_bare_words() -> None:
    jdl = JDL.parse(DIRAC_WRITER_JDL)
    assert jdl.get_list("InputSandbox") == [
        "/bin/echo",
        "jobDescription.xml",
        "SB:ProductionSandboxSE|/SandBox/a/alice/x.tar.bz2",
    ]
    assert jdl.get_list("OutputSandbox") == ["Script1_echo.log", "std.err", "std.out"]
    assert jdl.get_list("Tags") == ["MultiProcessor", "GPU"]
    assert jdl.get_str("JobName") == "compat-raw"
    assert jdl.get_list("InputData") == ["LFN:/dirac/user/a/alice/in.txt"]
    assert jdl.get_int("Priority", 0) == 1 and jdl.get_int("CPUTime", 0) == 3600
    again = JDL.parse(jdl.to_text())  # what we store and hand to pilots parses the same
    assert again.get_list("OutputSandbox") == jdl.get_list("OutputSandbox")
    assert again.get_str("JobName") == "compat-raw"
