"""The seed's 第2報 as a built-in template to copy: its wording, steps and the office phone table (as a merge
field, so the table always shows the offices' current numbers)."""

from django.db import migrations

NAME = "第2報 BIGLOBE パスワード変更のお願い（画面変更版）"
TITLE = "【重要】BIGLOBE パスワード変更のお願い"
BODY = """平素は格別のご高配を賜り、厚く御礼申し上げます。

さて、本日「BIGLOBE パスワード変更のお願い」について FAX にてご案内差し上げましたが、BIGLOBE 側のホームページの仕様（画面構成・操作手順）が一部変更となりました。

これに伴い、前回の案内とお手続きの流れが異なっているため、最新の仕様に合わせた変更手順を改めてご案内いたします。

{% if 完了 %}すでにお手続きを完了されているお客様には、重ねてのご案内となりますことを深くお詫び申し上げます。{% else %}まだお手続きがお済みでないお客様におかれましては、誠に恐れ入りますが、本紙の手順に沿って、お早めにお手続きを行っていただきますようお願い申し上げます。

お手続きがお済みでないアカウント：
{{ 未完了アカウント }}

お手続きが済みましたら、下記のリンクからお知らせください（パスワードの入力は不要です）。
{{ 本人報告URL }}{% endif %}

【事前準備】
EF ネット会員証をお手元にご準備ください。ない場合は、担当営業所（{{ 営業所名 }} {{ 営業所電話 }}）へ再発行依頼をお願いいたします。

【1：ログイン画面の表示とログイン方法】
下記 URL にアクセスいただき、ログイン画面を表示し、EF ネット会員証 5.ユーザーID、6.パスワードを入力し、ログインしてください。
① 以下の URL にアクセスください。
https://biz.biglobe.ne.jp/member/ryokinsei/
② 「料金制選択コースの管理画面」をクリックしてください。
③ EF ネット会員証 5.ユーザーID、6.パスワードを入力してログインしてください。

【2：BIGLOBE パスワード変更】
① 画面右側メニューの一番上にある「BIGLOBE パスワード変更」をクリックします。
注意：BIGLOBE パスワード変更以外の項目は、絶対に触らないようにお願いいたします。
② 現在のパスワード欄に、EF ネット会員証 6.パスワードを入力してください。
※新しいパスワード欄に、数字・英小文字・英大文字・記号のいずれか2種類以上使用した8文字以上16文字以内で、お客様任意のパスワードを入力ください。
新しいパスワードの再入力の欄に、上記で決定したお客様任意のパスワードを再度入力ください。入力後、画面下部の「変更する」ボタンをクリックします。
注意：ここで入力した任意のパスワードを、会員証に必ずメモしておいてください。
③ 画面の右上にある図をクリックし、ブラウザを閉じてください。
以上で、BIGLOBE パスワード変更は終了です。

【3：メールパスワード変更手順表示方法】
注意：こちらの作業をしないと、お使いのメールソフトでの送受信ができなくなります。
※Outlook メールソフトでのメールパスワード変更方法をご案内いたします。（他のメールソフトの設定は、各業者へお問い合わせください。）
下記の①・②のいずれかの方法で、メールパスワード変更手順を開き、STEP8/10 と STEP10/10 の手順を実施し、メールパスワードを変更してください。
① Google、Yahoo いずれかの検索サイトにて、「outlook 2021 メール設定 biglobe」で検索してください。
② https://faq.support.biglobe.ne.jp/faq_detail.html?faq_id=12955 にアクセスください。
{% if 追加メールアドレスあり %}
【追加メールアドレスを取得・ご利用されているお客様】
追加メールアドレスリストをご用意ください。お手元にない場合は、担当営業所へ再発行依頼をお願いいたします。
追加メールアドレス単位での実施をお願いいたします。追加メールアドレスリストの 2.パスワード・ID をご用意いただき、【1：ログイン画面の表示とログイン方法】～【3：メールパスワード変更手順表示方法】まで、作業をお願いいたします。
{% endif %}
変更作業は以上で終了になります。

※本件に関するお問い合わせは、各担当営業所までお問い合わせください。（平日 9:00～17:00）
{{ 営業所電話一覧 }}
"""


def create_template(apps, schema_editor):
    NoticeTemplate = apps.get_model("notices", "NoticeTemplate")
    NoticeTemplate.objects.update_or_create(name=NAME, defaults={"title": TITLE, "body": BODY})


def remove_template(apps, schema_editor):
    apps.get_model("notices", "NoticeTemplate").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_initial")]
    operations = [migrations.RunPython(create_template, remove_template)]
